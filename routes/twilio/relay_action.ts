/** `POST /twilio/relay/action`: Twilio reports the end of a ConversationRelay session. */

import type { Handler } from "hono";
import { callRelayTwiml } from "../../lib/call_twiml.ts";
import { relayActionTwiml } from "../../lib/relay_action.ts";
import type { Services } from "../../lib/services.ts";

/** Answers with what happens next: a hand-off `<Dial>`, a reconnect, a goodbye, or nothing. */
export function relayActionHandler(services: Services): Handler {
  return async (c) => {
    const body = await c.req.parseBody();
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(body)) {
      if (typeof value === "string") params[key] = value;
    }
    const reconnects = Number(c.req.query("reconnects") ?? 0) || 0;
    const { twiml, outcome } = relayActionTwiml(params, {
      handoffNumber: services.config.handoffNumber,
      reconnectTwiml: reconnects < 1
        ? callRelayTwiml(services, c.req.raw, {
          parameters: { agent: "default", reconnect: "1" },
          reconnects: reconnects + 1,
        })
        : null,
    });
    services.log.info("relay.session_end", {
      callSid: params.CallSid,
      status: params.SessionStatus,
      outcome,
      errorCode: params.ErrorCode,
    });
    return c.body(twiml, 200, { "content-type": "text/xml; charset=utf-8" });
  };
}
