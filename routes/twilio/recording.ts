/**
 * `POST /twilio/recording`: Twilio's `recordingStatusCallback` (signed, like every `/twilio/*`
 * request): the recording's SID, status, duration and channels go onto the call's records.
 *
 * @module
 */

import type { Handler } from "hono";
import { formParams } from "../../lib/platform/form_params.ts";
import { RECORDING_STATUSES, recordRecordingStatus } from "../../lib/records/recordings.ts";
import type { Services } from "../../lib/services.ts";

/** Stores what the callback says; 204 (Twilio ignores the body), 400 when it is malformed. */
export function recordingCallbackHandler(services: Services): Handler {
  return async (c) => {
    const form = await formParams(c);
    const status = form.RecordingStatus ?? "";
    if (
      !/^CA[0-9a-fA-F]{32}$/.test(form.CallSid ?? "") ||
      !/^RE[0-9a-fA-F]{32}$/.test(form.RecordingSid ?? "") ||
      !(RECORDING_STATUSES as readonly string[]).includes(status)
    ) {
      services.log.warn("twilio.recording_invalid", { status: status.slice(0, 32) });
      return c.body(null, 400);
    }
    const number = (v: string | undefined) => (v && Number.isFinite(Number(v)) ? Number(v) : null);
    const recording = await recordRecordingStatus(services.records.store, {
      callSid: form.CallSid,
      recordingSid: form.RecordingSid,
      status,
      durationSeconds: number(form.RecordingDuration),
      channels: number(form.RecordingChannels),
      at: Date.now(),
    });
    services.log.info("twilio.recording", {
      callSid: form.CallSid,
      recordingSid: recording.sid,
      status: recording.status,
    });
    return c.body(null, 204);
  };
}
