/**
 * Call recordings (profiles with `record: true`): Twilio records the call in two channels and
 * reports the recording through its signed `recordingStatusCallback`; the recording's SID,
 * status, duration and channels are kept per call SID in KV and copied onto the call's records.
 * The media stays at Twilio: the admin route and the API stream it from there with the account
 * credentials, so neither the browser nor a receiver ever gets a Twilio URL or credential.
 *
 * KV keys: `["call_recording", callSid]` → {@link CallRecording};
 * `["recording_started", callSid]` → true (one recording per call, whatever the reconnects).
 *
 * @module
 */

import type { CallRecording, CallStore } from "./call_store.ts";

/** The recording statuses Twilio reports. */
export const RECORDING_STATUSES = ["in-progress", "completed", "absent", "failed"] as const;

const DAY_MS = 24 * 60 * 60 * 1000;

/** A `recordingStatusCallback`'s fields, as read. */
export interface RecordingUpdate {
  callSid: string;
  recordingSid: string;
  status: string;
  durationSeconds: number | null;
  channels: number | null;
  at: number;
}

/**
 * Stores what a recording callback says (a late `in-progress` does not undo `completed`) and
 * copies it onto the call's records; returns the stored recording.
 */
export async function recordRecordingStatus(
  store: CallStore,
  update: RecordingUpdate,
): Promise<CallRecording> {
  const kv = store.kv;
  const key = ["call_recording", update.callSid];
  let recording: CallRecording;
  for (;;) {
    const entry = await kv.get<CallRecording>(key);
    const current = entry.value;
    const regress = current?.sid === update.recordingSid && current.status !== "in-progress" &&
      update.status === "in-progress";
    recording = regress ? current : {
      sid: update.recordingSid,
      status: update.status,
      durationSeconds: update.durationSeconds ?? current?.durationSeconds ?? null,
      channels: update.channels ?? current?.channels ?? null,
      updatedAt: update.at,
    };
    const expireIn = store.retentionDays * DAY_MS;
    if ((await kv.atomic().check(entry).set(key, recording, { expireIn }).commit()).ok) break;
  }
  for (const record of await store.findBySid(update.callSid)) {
    await store.updateRecord(record.id, (r) => ({ ...r, recording }));
  }
  return recording;
}

/** The recording of a call SID, or null. */
export async function recordingOf(kv: Deno.Kv, callSid: string): Promise<CallRecording | null> {
  return (await kv.get<CallRecording>(["call_recording", callSid])).value;
}

/**
 * Claims the right to start call `callSid`'s recording: true once per call (its first session),
 * false for a reconnect of a call already recorded.
 */
export async function claimRecordingStart(kv: Deno.Kv, callSid: string): Promise<boolean> {
  const key = ["recording_started", callSid];
  const result = await kv.atomic().check({ key, versionstamp: null })
    .set(key, true, { expireIn: DAY_MS }).commit();
  return result.ok;
}

/** Forgets a call SID's recording data (the call was deleted). */
export async function forgetRecording(kv: Deno.Kv, callSid: string): Promise<void> {
  await kv.atomic().delete(["call_recording", callSid]).delete(["recording_started", callSid])
    .commit();
}
