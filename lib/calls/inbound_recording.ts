/**
 * Starting the recording of an inbound call whose agent records calls: Twilio can record a call
 * only once it is answered, so this runs when the call's socket starts, once per call whatever
 * the reconnects (a claim in KV). Outbound calls are recorded by `calls.create` itself.
 *
 * @module
 */

import type { CallContext } from "./call_context.ts";
import { errorMessage, type Logger } from "../platform/log.ts";
import type { TwilioApi } from "../platform/twilio_api.ts";
import { claimRecordingStart } from "../records/recordings.ts";

/**
 * Starts recording an inbound call whose profile says `record: true`, once its socket started
 * (the call is answered), once per call; a failure is logged, never the call's. Outbound calls
 * are recorded by `calls.create` itself.
 */
export function startInboundRecording(
  parts: { kv: Deno.Kv; log: Logger; twilio: TwilioApi | null; publicUrl: string | null },
  context: CallContext,
): void {
  const { call, profile } = context;
  if (!profile.record || call.direction === "outbound-api" || !call.callSid) return;
  const { kv, log, twilio, publicUrl } = parts;
  if (!twilio || !publicUrl) {
    log.warn("recording.not_started", {
      callSid: call.callSid,
      reason: twilio ? "PUBLIC_URL is not set" : "no Twilio credentials",
    });
    return;
  }
  claimRecordingStart(kv, call.callSid)
    .then(async (first) => {
      if (!first) return;
      const sid = await twilio.startRecording(call.callSid, `${publicUrl}/twilio/recording`);
      log.info("recording.started", { callSid: call.callSid, recordingSid: sid });
    })
    .catch((err) =>
      log.warn("recording.start_failed", { callSid: call.callSid, error: errorMessage(err) })
    );
}
