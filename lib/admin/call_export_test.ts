/**
 * The CSV export: RFC 4180 quoting, formulas defused, masked numbers, the analysis result and
 * summary in their columns.
 */

import assert from "node:assert/strict";
import { cell, CSV_COLUMNS, csvHeader, csvRow } from "./call_export.ts";
import { newCallRecord } from "../records/call_store.ts";

Deno.test("cells: quoted when needed, formulas defused, empty for null", () => {
  assert.equal(cell("plain"), "plain");
  assert.equal(cell('say "hi", then go'), '"say ""hi"", then go"');
  assert.equal(cell("two\nlines"), '"two\nlines"');
  assert.equal(cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
  assert.equal(cell("+1 555"), "'+1 555");
  assert.equal(cell("-2"), "'-2");
  assert.equal(cell("@x"), "'@x");
  assert.equal(cell(null), "");
  assert.equal(cell(0.25), "0.25");
});

Deno.test("a row has every column, numbers masked, the result and summary", () => {
  const record = {
    ...newCallRecord({
      id: "rec-1",
      callSid: "CA1",
      mode: "relay",
      agent: "clinic",
      direction: "inbound",
      from: "+15550100123",
      to: "+15550100999",
      startedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
    }),
    endedAt: Date.UTC(2026, 0, 2, 3, 5, 35),
    outcome: "caller-hangup",
    analysis: {
      status: "done" as const,
      at: 0,
      summary: "Booked, Tuesday.",
      outcome: "booked",
      fields: null,
      model: "m",
    },
  };
  assert.equal(csvHeader(), `${CSV_COLUMNS.join(",")}\r\n`);
  const row = csvRow(record);
  assert.ok(row.endsWith("\r\n"));
  assert.equal(
    row,
    "rec-1,CA1,2026-01-02T03:04:05.000Z,2026-01-02T03:05:35.000Z,90,clinic,relay,inbound," +
      "'+*******0123,'+*******0999,caller-hangup,booked,\"Booked, Tuesday.\",0,0,0,0,0,0\r\n",
  );
});
