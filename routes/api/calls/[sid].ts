/**
 * `/api/calls/:sid`: `GET` the whole of a call, by Twilio call SID or record id — every record
 * of it (a call reconnected after a failure has several), each with its metadata, transcript,
 * tool calls, events, per-turn latency, usage and cost, analysis, webhook state and recording;
 * `DELETE` deletes it.
 *
 * @module
 */

import type { Handler } from "hono";
import type { CallDetail } from "../../../lib/records/call_store.ts";
import { webhookPayload, webhookStatus } from "../../../lib/records/call_webhook.ts";
import type { Services } from "../../../lib/services.ts";
import { deleteCallLogged } from "../../../lib/records/call_deletion.ts";
import { recordingOf } from "../../../lib/records/recordings.ts";

/** Answers `{ records: [...] }`, oldest first, or 404 `{ error }`. */
export function callDetailApiHandler(services: Services): Handler {
  return async (c) => {
    const key = c.req.param("sid") ?? "";
    const store = services.records.store;
    const details = (await Promise.all(
      (await store.findByKey(key)).map((r) => store.getDetail(r.id)),
    )).filter((d): d is CallDetail => d !== null);
    for (const { record } of details) {
      if (!record.recording && record.callSid) {
        record.recording = await recordingOf(services.kv, record.callSid);
      }
    }
    if (details.length === 0) return c.json({ error: "No such call (it may have expired)." }, 404);
    const records = await Promise.all(details.map(async (detail) => ({
      ...webhookPayload(detail, services.config.publicUrl),
      events: detail.events,
      latencies: detail.latencies,
      webhook: await webhookStatus(services.kv, detail.record.id),
    })));
    return c.json({ records });
  };
}

/**
 * `DELETE /api/calls/:sid`: deletes the call and everything kept about it (privacy requests);
 * answers `{ deleted, recordings }`, 404 when there is no such call, 502 when Twilio would not
 * delete its recording (nothing is deleted then: try again).
 */
export function callDeleteApiHandler(services: Services): Handler {
  return async (c) => {
    const key = c.req.param("sid") ?? "";
    try {
      const { records, recordings } = await deleteCallLogged(services.records.store, key, {
        log: services.log,
        via: "api",
        deleteRecording: services.twilio?.deleteRecording ?? null,
      });
      if (records.length === 0) {
        return c.json({ error: "No such call (it may have expired)." }, 404);
      }
      return c.json({ deleted: records.length, recordings });
    } catch (err) {
      services.log.warn("call.delete_failed", { error: String(err) });
      return c.json({ error: `The recording could not be deleted: ${String(err)}` }, 502);
    }
  };
}
