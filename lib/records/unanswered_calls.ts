/**
 * Records from Twilio's status callbacks, so every call has one, answered or not: an outbound
 * call that rings out (`no-answer`, `busy`, `failed`, `canceled`), or a call that ended before
 * any socket opened, gets a record with that status as its outcome; a record still `live` that
 * no session of this process holds (its instance went away) is completed with the final status.
 *
 * @module
 */

import type { CallStatusName } from "./call_status.ts";
import { type CallMode, type CallRecord, type CallStore, newCallRecord } from "./call_store.ts";

/** The statuses after which Twilio's call is over. */
export const FINAL_STATUSES: readonly CallStatusName[] = [
  "completed",
  "busy",
  "no-answer",
  "failed",
  "canceled",
];

/** A final status callback, as the route read it. */
export interface FinalStatus {
  callSid: string;
  status: CallStatusName;
  /** Epoch ms of the callback. */
  at: number;
  from: string;
  to: string;
  direction: string;
  durationSeconds: number | null;
  /** The agent and call path the call would have had. */
  agent: string;
  mode: CallMode;
  /** Record ids this process is still writing (their sessions end them). */
  openIds: ReadonlySet<string>;
}

/**
 * Creates or completes the record of a call whose final status came in; returns the records
 * created or completed (their after-call work is still to run), none when sessions have it.
 */
export async function recordFinalStatus(
  store: CallStore,
  update: FinalStatus,
): Promise<CallRecord[]> {
  if (!FINAL_STATUSES.includes(update.status)) return [];
  const existing = await store.findBySid(update.callSid);
  if (existing.length === 0) {
    const startedAt = update.durationSeconds
      ? update.at - update.durationSeconds * 1000
      : update.at;
    const record: CallRecord = {
      ...newCallRecord({
        id: crypto.randomUUID(),
        callSid: update.callSid,
        mode: update.mode,
        agent: update.agent,
        direction: update.direction || "unknown",
        from: update.from,
        to: update.to,
        startedAt,
      }),
      endedAt: update.at,
      outcome: update.status,
    };
    await store.putRecord(record);
    return [record];
  }
  const completed: CallRecord[] = [];
  for (const record of existing) {
    if (record.outcome !== "live" || update.openIds.has(record.id)) continue;
    const done = await store.updateRecord(
      record.id,
      (r) => r.outcome === "live" ? { ...r, endedAt: update.at, outcome: update.status } : null,
    );
    if (done) completed.push(done);
  }
  return completed;
}
