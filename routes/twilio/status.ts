/**
 * `POST /twilio/status`: Twilio's call status callbacks.
 *
 * @module
 */

import type { Handler } from "hono";
import {
  CALL_STATUSES,
  type CallStatusName,
  recordCallStatus,
} from "../../lib/records/call_status.ts";
import { formParams } from "../../lib/platform/form_params.ts";
import type { Services } from "../../lib/services.ts";

/** Records the reported status; answers 204 (Twilio ignores the body). */
export function statusCallbackHandler(services: Services): Handler {
  return async (c) => {
    const form = await formParams(c);
    const status = form.CallStatus as CallStatusName;
    if (!form.CallSid || !(CALL_STATUSES as readonly string[]).includes(status)) {
      services.log.warn("twilio.status_invalid", { status: String(form.CallStatus).slice(0, 32) });
      return c.body(null, 400);
    }
    // Timestamp is an RFC 2822 date; SequenceNumber orders callbacks of one call.
    const at = Date.parse(form.Timestamp ?? "") || Date.now();
    const duration = Number(form.CallDuration);
    await recordCallStatus(services.kv, {
      callSid: form.CallSid,
      status,
      at: at + (Number(form.SequenceNumber) || 0) / 1000,
      durationSeconds: Number.isFinite(duration) && form.CallDuration ? duration : null,
    });
    if (status === "in-progress" || status === "answered") {
      await services.records.store.markAnswered(form.CallSid, at);
    }
    services.log.info("twilio.status", { callSid: form.CallSid, status });
    return c.body(null, 204);
  };
}
