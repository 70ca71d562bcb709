/** `POST /twilio/voice`: the voice webhook; answers ConversationRelay TwiML. */

import type { Handler } from "hono";
import { callRelayTwiml } from "../../lib/call_twiml.ts";
import type { Services } from "../../lib/services.ts";

/** Returns the TwiML that connects the caller to the agent. */
export function voiceHandler(services: Services): Handler {
  return (c) => {
    const agent = c.req.query("agent") || "default";
    const twiml = callRelayTwiml(services, c.req.raw, { parameters: { agent } });
    return c.body(twiml, 200, { "content-type": "text/xml; charset=utf-8" });
  };
}
