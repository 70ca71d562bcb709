/**
 * Call status from Twilio's status callbacks (ringing, answered, completed, busy, no-answer,
 * failed), kept in KV per call so any instance can tell where a call stands.
 *
 * @module
 */

/** The statuses Twilio reports. */
export const CALL_STATUSES = [
  "queued",
  "initiated",
  "ringing",
  "in-progress",
  "answered",
  "completed",
  "busy",
  "no-answer",
  "failed",
  "canceled",
] as const;

/** One of {@link CALL_STATUSES}. */
export type CallStatusName = typeof CALL_STATUSES[number];

/** A call's status and how it got there. */
export interface CallStatus {
  callSid: string;
  status: CallStatusName;
  updatedAt: number;
  durationSeconds: number | null;
  history: { status: CallStatusName; at: number }[];
}

const PREFIX = "call_status";
const TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** Records a status callback; an older callback arriving late does not overwrite a newer one. */
export async function recordCallStatus(
  kv: Deno.Kv,
  update: { callSid: string; status: CallStatusName; at: number; durationSeconds: number | null },
): Promise<CallStatus> {
  const key = [PREFIX, update.callSid];
  for (;;) {
    const entry = await kv.get<CallStatus>(key);
    const current = entry.value ?? {
      callSid: update.callSid,
      status: update.status,
      updatedAt: 0,
      durationSeconds: null,
      history: [],
    };
    const next: CallStatus = {
      ...current,
      history: [...current.history, { status: update.status, at: update.at }].slice(-20),
    };
    if (update.at >= current.updatedAt) {
      next.status = update.status;
      next.updatedAt = update.at;
      next.durationSeconds = update.durationSeconds ?? current.durationSeconds;
    }
    const result = await kv.atomic().check(entry).set(key, next, { expireIn: TTL_MS }).commit();
    if (result.ok) return next;
  }
}

/** The recorded status of a call, or null. */
export async function getCallStatus(kv: Deno.Kv, callSid: string): Promise<CallStatus | null> {
  return (await kv.get<CallStatus>([PREFIX, callSid])).value;
}
