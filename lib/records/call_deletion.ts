/**
 * Deleting a call, for privacy requests: every record of it (by Twilio call SID or record id)
 * with its turns, events, latencies and analysis, its webhook state and dead letter, its status
 * history, its stream ending and outbound data, and its Twilio recording (through the REST API).
 * What is left says only that a deletion happened: the log line, with the number masked.
 *
 * @module
 */

import { type Logger, maskPhone } from "../platform/log.ts";
import { forgetWebhook } from "./call_webhook.ts";
import { forgetRecording, recordingOf } from "./recordings.ts";
import type { CallRecord, CallStore } from "./call_store.ts";

/** What a deletion removed. */
export interface CallDeletion {
  /** The records deleted (their summaries, as they were). */
  records: CallRecord[];
  /** Twilio recordings deleted. */
  recordings: number;
}

/** What {@link deleteCall} uses besides the store. */
export interface DeletionOptions {
  /** Deletes a recording at Twilio (REST); null without credentials. */
  deleteRecording?: ((recordingSid: string) => Promise<void>) | null;
}

/**
 * Deletes call `key` (a call SID or a record id) and everything kept about it; resolves with
 * what was removed (no records: there was no such call). A Twilio recording that cannot be
 * deleted fails the deletion before anything else is removed, so it can be tried again.
 */
export async function deleteCall(
  store: CallStore,
  key: string,
  options: DeletionOptions = {},
): Promise<CallDeletion> {
  const records = await store.findByKey(key);
  const kv = store.kv;
  const sids = new Set(records.map((r) => r.callSid).filter((s): s is string => s !== null));
  const recordingSids = new Set(records.flatMap((r) => r.recording?.sid ?? []));
  for (const sid of sids) {
    const recording = await recordingOf(kv, sid);
    if (recording) recordingSids.add(recording.sid);
  }
  for (const sid of recordingSids) {
    if (!options.deleteRecording) {
      throw new Error("the call has a Twilio recording and Twilio credentials are not set");
    }
    await options.deleteRecording(sid);
  }
  for (const record of records) {
    for await (const item of kv.list({ prefix: ["call_item", record.id] })) {
      await kv.delete(item.key);
    }
    let op = kv.atomic()
      .delete(["call", record.id])
      .delete(["call_by_time", record.startedAt, record.id]);
    if (record.callSid) op = op.delete(["call_by_sid", record.callSid, record.id]);
    await op.commit();
    await forgetWebhook(kv, record.id);
  }
  for (const sid of sids) {
    await forgetRecording(kv, sid);
    const reference = (await kv.get<string>(["outbound_by_sid", sid])).value;
    let op = kv.atomic()
      .delete(["call_status", sid])
      .delete(["stream_ending", sid])
      .delete(["outbound_by_sid", sid]);
    if (reference) op = op.delete(["outbound", reference]);
    await op.commit();
  }
  return { records, recordings: recordingSids.size };
}

/** {@link deleteCall}, then one log line saying who deleted what (the number masked). */
export async function deleteCallLogged(
  store: CallStore,
  key: string,
  options: DeletionOptions & { log: Logger; via: "admin" | "api" },
): Promise<CallDeletion> {
  const deletion = await deleteCall(store, key, options);
  const first = deletion.records[0];
  if (first) {
    options.log.info("call.deleted", {
      callSid: first.callSid ?? undefined,
      records: deletion.records.length,
      recordings: deletion.recordings,
      from: maskPhone(first.from),
      to: maskPhone(first.to),
      via: options.via,
    });
  }
  return deletion;
}
