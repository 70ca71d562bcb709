/**
 * `POST /twilio/stream/action`: Twilio asks what follows a Media Stream the service has closed
 * (`<Connect action>`); the answer is what the call's bridge stored as it ended.
 *
 * @module
 */

import type { Handler } from "hono";
import { formParams } from "../../../lib/platform/form_params.ts";
import type { Services } from "../../../lib/services.ts";
import { streamActionTwiml } from "../../../lib/calls/stream_ending.ts";

/** Answers with the TwiML the call's ending asked for (a hang-up, a goodbye, a `<Dial>`, an apology). */
export function streamActionHandler(services: Services): Handler {
  return async (c) => {
    const params = await formParams(c);
    const callSid = params.CallSid ?? "";
    const ending = /^CA[0-9a-f]{32}$/i.test(callSid)
      ? await services.streamEndings.get(callSid)
      : null;
    const { twiml, outcome } = streamActionTwiml({
      ending,
      callStatus: params.CallStatus ?? "",
      fallback: services.config.realtimeFallback,
    });
    services.log.info("stream.action", { callSid: callSid.slice(0, 34), outcome });
    return c.body(twiml, 200, { "content-type": "text/xml; charset=utf-8" });
  };
}
