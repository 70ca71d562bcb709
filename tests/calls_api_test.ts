/**
 * The read API and the dashboard's paging and export: `GET /api/calls` (bearer token) with the
 * dashboard's filters and cursor paging over every call, `GET /api/calls/:sid` with the whole
 * record of a real relay call (transcript, tools, usage, analysis), the dashboard's "older calls"
 * link and the CSV export of the filtered list.
 */

import assert from "node:assert/strict";
import { agentsWithAnalysis, analysedRecord } from "./helpers/after_call.ts";
import { relayHarness } from "./helpers/relay_harness.ts";
import { type CallRecord, newCallRecord } from "../lib/records/call_store.ts";
import { CSV_COLUMNS } from "../lib/admin/call_export.ts";

const TOKEN = "api-token-read-4d2a";

function get(url: string, token: string | null = TOKEN): Promise<Response> {
  return fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

/** `n` ended calls, one a minute from `start`, every third `booked` and on agent `clinic`. */
function records(n: number, start: number): CallRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    ...newCallRecord({
      id: `rec-${i}`,
      callSid: `CA${String(i).padStart(32, "0")}`,
      mode: "relay" as const,
      agent: i % 3 === 0 ? "clinic" : "default",
      direction: "inbound",
      from: "+15550100123",
      to: "+15550100999",
      startedAt: start + i * 60_000,
    }),
    endedAt: start + i * 60_000 + 30_000,
    outcome: i === 4 ? "no-answer" : "caller-hangup",
    analysis: i % 3 === 0
      ? {
        status: "done" as const,
        at: 0,
        summary: `Call ${i}, booked`,
        outcome: "booked",
        fields: null,
        model: "m",
      }
      : null,
  }));
}

Deno.test("GET /api/calls pages through every call with the dashboard's filters", async () => {
  const dir = await agentsWithAnalysis();
  const h = await relayHarness({ API_TOKEN: TOKEN, AGENTS_DIR: dir });
  try {
    const start = Date.now() - 60 * 60_000;
    for (const r of records(7, start)) await h.svc.services.records.store.putRecord(r);
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res = await get(`${h.svc.url}/api/calls?${query}`);
      assert.equal(res.status, 200);
      const body = await res.json() as { calls: CallRecord[]; nextCursor: string | null };
      ids.push(...body.calls.map((c) => c.id));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    assert.deepEqual(ids, ["rec-6", "rec-5", "rec-4", "rec-3", "rec-2", "rec-1", "rec-0"]);
    assert.equal(pages, 3);
    // An exactly full last page has no next one.
    const full = await (await get(`${h.svc.url}/api/calls?limit=7`)).json();
    assert.equal(full.calls.length, 7);
    assert.equal(full.nextCursor, null);
    const clinic = await (await get(`${h.svc.url}/api/calls?agent=clinic&limit=3`)).json();
    assert.deepEqual(clinic.calls.map((c: CallRecord) => c.id), ["rec-6", "rec-3", "rec-0"]);
    assert.equal(clinic.nextCursor, null);

    const ofResult = await (await get(`${h.svc.url}/api/calls?result=booked`)).json();
    assert.deepEqual(ofResult.calls.map((c: CallRecord) => c.id), ["rec-6", "rec-3", "rec-0"]);
    assert.equal(ofResult.nextCursor, null);
    assert.equal(ofResult.calls[0].from, "+15550100123", "the API gives whole numbers");
    const ofOutcome = await (await get(`${h.svc.url}/api/calls?outcome=no-answer`)).json();
    assert.deepEqual(ofOutcome.calls.map((c: CallRecord) => c.id), ["rec-4"]);
    const paged = await (await get(`${h.svc.url}/api/calls?agent=default&limit=2`)).json();
    assert.deepEqual(paged.calls.map((c: CallRecord) => c.id), ["rec-5", "rec-4"]);
    const next = await (await get(
      `${h.svc.url}/api/calls?agent=default&limit=2&cursor=${encodeURIComponent(paged.nextCursor)}`,
    )).json();
    assert.deepEqual(next.calls.map((c: CallRecord) => c.id), ["rec-2", "rec-1"]);

    for (const query of ["limit=0", "limit=201", "cursor=bogus"]) {
      const res = await get(`${h.svc.url}/api/calls?${query}`);
      assert.equal(res.status, 400, query);
      assert.match((await res.json()).error, /limit|cursor/);
    }
    for (const token of [null, "wrong"]) {
      const res = await get(`${h.svc.url}/api/calls`, token);
      assert.equal(res.status, 401);
      await res.body?.cancel();
    }

    // The dashboard pages the same way (50 a page), and exports the filtered list.
    const bulk = records(55, start - 24 * 60 * 60_000).map((r, i) => ({
      ...r,
      id: `bulk-${i}`,
      callSid: `CA${String(i).padStart(32, "1")}`,
      agent: "bulk",
    }));
    for (const r of bulk) await h.svc.services.records.store.putRecord(r);
    const first = await (await fetch(`${h.svc.url}/?agent=bulk`)).text();
    const older = first.match(/class="older" href="([^"]+)"/);
    assert.ok(older, "an older-calls link");
    const second = await (await fetch(`${h.svc.url}${older[1].replaceAll("&amp;", "&")}`)).text();
    const sids = (page: string) => [...page.matchAll(/data-call-sid="(CA\d+)"/g)].map((m) => m[1]);
    assert.equal(sids(first).length, 50);
    assert.deepEqual(sids(second), bulk.slice(0, 5).reverse().map((r) => r.callSid));
    assert.match(second, /href="\/\?agent=bulk">Newest calls</);
    assert.match(first, /href="\/calls\.csv\?agent=bulk"/);
    const csv = await fetch(`${h.svc.url}/calls.csv?result=booked&agent=clinic`);
    assert.equal(csv.headers.get("content-type"), "text/csv; charset=utf-8");
    assert.match(csv.headers.get("content-disposition") ?? "", /^attachment; filename="calls-/);
    const lines = (await csv.text()).split("\r\n");
    assert.equal(lines[0], CSV_COLUMNS.join(","));
    assert.deepEqual(lines.slice(1).map((l) => l.split(",")[0]), ["rec-6", "rec-3", "rec-0", ""]);
    assert.match(lines[1], /,booked,"Call 6, booked",/);
    assert.ok(!lines[1].includes("+15550100123"), "numbers masked as in the list");
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GET /api/calls/:sid is the whole record: transcript, tools, usage, analysis", async () => {
  const dir = await agentsWithAnalysis();
  const h = await relayHarness({ API_TOKEN: TOKEN, AGENTS_DIR: dir });
  try {
    h.fake.scriptStructured({
      json: {
        summary: "Asked the time.",
        outcome: "no-booking",
        fields: { name: null, day: null },
      },
    });
    h.fake.script({ toolCalls: [{ name: "end_call", arguments: '{"reason":"done"}' }] });
    const call = await h.call({ agent: "clinic" });
    call.prompt("What time is it? Then hang up.");
    await call.closed;
    const record = await analysedRecord(h.svc.services.records.store, call.callSid);
    for (const key of [call.callSid, record.id]) {
      const res = await get(`${h.svc.url}/api/calls/${key}`);
      assert.equal(res.status, 200, key);
      const { records: [body] } = await res.json();
      assert.equal(body.id, record.id);
      assert.equal(body.callSid, call.callSid);
      assert.equal(body.transcript[0].text, "What time is it? Then hang up.");
      assert.equal(body.toolCalls.length, 1);
      assert.equal(body.usage.toolCalls, 1);
      assert.equal(body.analysis.summary, "Asked the time.");
      assert.equal(body.recording, null);
      assert.ok(Array.isArray(body.events) && Array.isArray(body.latencies));
    }
    const missing = await get(`${h.svc.url}/api/calls/CA${"9".repeat(32)}`);
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).error, /No such call/);
    const unauthorized = await get(`${h.svc.url}/api/calls/${call.callSid}`, null);
    assert.equal(unauthorized.status, 401);
    await unauthorized.body?.cancel();
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});
