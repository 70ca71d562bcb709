/**
 * `GET /api/calls/:sid`: the whole of a call, by Twilio call SID or record id — every record
 * of it (a call reconnected after a failure has several), each with its metadata, transcript,
 * tool calls, events, per-turn latency, usage and cost, analysis, webhook state and recording.
 *
 * @module
 */

import type { Handler } from "hono";
import type { CallDetail } from "../../../lib/records/call_store.ts";
import { webhookPayload, webhookStatus } from "../../../lib/records/call_webhook.ts";
import type { Services } from "../../../lib/services.ts";

/** Answers `{ records: [...] }`, oldest first, or 404 `{ error }`. */
export function callDetailApiHandler(services: Services): Handler {
  return async (c) => {
    const key = c.req.param("sid") ?? "";
    const store = services.records.store;
    const details = (await Promise.all(
      (await store.findByKey(key)).map((r) => store.getDetail(r.id)),
    )).filter((d): d is CallDetail => d !== null);
    if (details.length === 0) return c.json({ error: "No such call (it may have expired)." }, 404);
    const records = await Promise.all(details.map(async (detail) => ({
      ...webhookPayload(detail),
      events: detail.events,
      latencies: detail.latencies,
      webhook: await webhookStatus(services.kv, detail.record.id),
    })));
    return c.json({ records });
  };
}
