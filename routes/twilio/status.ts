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
import { findOutboundBySid } from "../../lib/records/outbound_store.ts";
import { FINAL_STATUSES, recordFinalStatus } from "../../lib/records/unanswered_calls.ts";
import type { Services } from "../../lib/services.ts";

/**
 * Records the reported status; a final one creates the record of a call that never reached a
 * socket (no-answer, busy, failed, canceled) or completes one left live. Answers 204 (Twilio
 * ignores the body).
 */
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
    if (FINAL_STATUSES.includes(status)) {
      const outbound = await findOutboundBySid(services.kv, form.CallSid);
      const agent = outbound?.agent ?? "default";
      const profile = await services.profiles.load(agent);
      const records = await recordFinalStatus(services.records.store, {
        callSid: form.CallSid,
        status,
        at: Date.now(),
        from: form.From ?? "",
        to: form.To ?? "",
        direction: form.Direction ?? "",
        durationSeconds: Number.isFinite(duration) && form.CallDuration ? duration : null,
        // A disabled agent (its profile has problems) still gets its record, by name.
        agent: profile?.name ?? agent,
        mode: profile?.mode ?? services.config.voiceMode,
        openIds: new Set(services.records.openRecords().map((r) => r.id)),
      });
      for (const record of records) {
        services.metrics.ended(record);
        services.afterCall.closed(record);
      }
    }
    services.log.info("twilio.status", { callSid: form.CallSid, status });
    return c.body(null, 204);
  };
}
