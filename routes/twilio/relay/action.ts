/**
 * `POST /twilio/relay/action`: Twilio reports the end of a ConversationRelay session.
 *
 * @module
 */

import type { Handler } from "hono";
import { agentTwiml, webhookCall } from "../../../lib/calls/agent_twiml.ts";
import { formParams } from "../../../lib/platform/form_params.ts";
import { publicBaseUrl } from "../../../lib/platform/public_url.ts";
import { relayActionTwiml } from "../../../lib/relay/action_twiml.ts";
import type { Services } from "../../../lib/services.ts";

/** Answers with what happens next: a hand-off `<Dial>`, a reconnect, a goodbye, or nothing. */
export function relayActionHandler(services: Services): Handler {
  return async (c) => {
    const params = await formParams(c);
    const reconnects = Number(c.req.query("reconnects") ?? 0) || 0;
    await services.profiles.load(c.req.query("agent")); // the newest saved version
    const { twiml, outcome } = relayActionTwiml(params, {
      handoffNumber: services.config.handoffNumber,
      reconnectTwiml: reconnects < 1
        ? await agentTwiml(services, {
          base: publicBaseUrl(services.config.publicUrl, c.req.raw),
          agent: c.req.query("agent") || "default",
          reference: c.req.query("reference"),
          mode: "relay",
          call: webhookCall(params),
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
