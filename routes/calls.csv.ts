/**
 * `GET /calls.csv`: the dashboard's filtered list of calls as CSV, every page of it (up to
 * {@link MAX_ROWS} calls), streamed.
 *
 * @module
 */

import type { Handler } from "hono";
import { parseCallFilter } from "../lib/admin/call_filter_query.ts";
import { csvHeader, csvRow } from "../lib/admin/call_export.ts";
import type { Services } from "../lib/services.ts";

/** Most calls one export holds. */
export const MAX_ROWS = 50_000;

/** Streams the CSV of the calls matching the query's filters. */
export function callsCsvHandler(services: Services): Handler {
  return (c) => {
    const { filter } = parseCallFilter(c.req.query(), { limit: 500 });
    delete filter.cursor;
    const store = services.records.store;
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode(csvHeader()));
        let cursor: string | undefined;
        let rows = 0;
        try {
          do {
            const page = await store.page({ ...filter, cursor });
            for (const record of page.calls) controller.enqueue(encoder.encode(csvRow(record)));
            rows += page.calls.length;
            cursor = page.cursor ?? undefined;
          } while (cursor && rows < MAX_ROWS);
          controller.close();
        } catch (err) {
          services.log.warn("calls.export_failed", { error: String(err) });
          controller.error(err);
        }
      },
    });
    const day = new Date().toISOString().slice(0, 10);
    return c.body(body, 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="calls-${day}.csv"`,
    });
  };
}
