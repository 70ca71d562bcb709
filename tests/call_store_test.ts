/**
 * Call records on real Deno KV (`:memory:`): written while a call runs, read back, chunked long
 * transcripts, expiry, filters and search, and KV write failures retried without touching the call.
 */

import assert from "node:assert/strict";
import { CallRecorder } from "../lib/records/call_recorder.ts";
import { BUILTIN_PRICES, costUsd, NO_USAGE } from "../lib/platform/model_prices.ts";
import { CallStore, newCallRecord } from "../lib/records/call_store.ts";
import { Logger } from "../lib/platform/log.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { eventually, relayHarness } from "./helpers/relay_harness.ts";
import { withTempKv } from "./helpers/temp_kv.ts";

const DAY = 24 * 60 * 60 * 1000;

Deno.test("a call's record is written as the call goes, then completed when it ends", async () => {
  const clock = new FakeClock();
  const h = await relayHarness({ WELCOME_GREETING: "Hi there." }, { clock });
  try {
    h.fake.script({ tokens: ["Sure, ", "it is open."] });
    const call = await h.call();
    call.prompt("Is the shop open?");
    await call.turn();
    const store = h.svc.services.records.store;
    await eventually(async () => (await store.findBySid(call.callSid)).length === 1, "summary");
    const [live] = await store.findBySid(call.callSid);
    assert.equal(live.outcome, "live");
    assert.equal(live.from, "+15550100123");
    clock.tick(1000); // the recorder's flush interval
    await eventually(
      async () => (await store.getDetail(live.id))?.transcript.length === 3,
      "transcript written while the call runs",
    );
    const detail = (await store.getDetail(live.id))!;
    assert.deepEqual(detail.transcript.map((t) => [t.role, t.text]), [
      ["agent", "Hi there."],
      ["caller", "Is the shop open?"],
      ["agent", "Sure, it is open."],
    ]);
    assert.equal(detail.latencies.length, 1);
    assert.ok(detail.latencies[0].latencyMs !== null && detail.latencies[0].outputTokens > 0);
    assert.equal(detail.record.outcome, "live");
    assert.ok(detail.record.inputTokens > 0);
    assert.equal(detail.record.model?.model, "gpt-test");
    assert.equal(detail.record.costUsd, null, "the price table has no gpt-test");
    await call.hangUp();
    await eventually(
      async () => (await store.getRecord(live.id))?.outcome === "caller-hangup",
      "record completed at the end",
    );
    assert.ok((await store.getRecord(live.id))!.endedAt! >= live.startedAt);
  } finally {
    await h.close();
  }
});

Deno.test("interrupts and tool calls land in the record's events", async () => {
  const clock = new FakeClock();
  const h = await relayHarness({ WELCOME_GREETING: "" }, { clock });
  try {
    h.fake.script(
      { tokens: ["One ", "two ", "three."], holdAfter: 2 },
      { toolCalls: [{ name: "send_dtmf", arguments: '{"digits":"9"}' }] },
      { tokens: ["Done."] },
    );
    const call = await h.call();
    call.prompt("count");
    await call.next((m) => m.token === "two ");
    call.interrupt("One", 200);
    call.prompt("press nine");
    await call.turn();
    await call.turn();
    await call.hangUp();
    const store = h.svc.services.records.store;
    await eventually(
      async () => (await store.findBySid(call.callSid))[0]?.outcome !== "live",
      "end",
    );
    const [record] = await store.findBySid(call.callSid);
    const detail = (await store.getDetail(record.id))!;
    assert.deepEqual(detail.events.map((e) => e.type), ["interrupt", "tool"]);
    assert.equal(detail.events[1].data?.name, "send_dtmf");
    assert.equal(record.interruptions, 1);
    assert.equal(record.toolCalls, 1);
    const cut = detail.transcript.find((t) => t.interrupted);
    assert.deepEqual([cut?.text, cut?.interrupted], ["One", { heardChars: 3 }]);
  } finally {
    await h.close();
  }
});

Deno.test("long transcripts are split under KV's 64 KiB value limit and read back whole", async () => {
  await withTempKv(async (kv) => {
    const store = new CallStore(kv);
    const record = newCallRecord({
      id: "c1",
      callSid: "CA1",
      mode: "relay",
      agent: "default",
      direction: "inbound",
      from: "+15550100123",
      to: "+15550100999",
    });
    await store.putRecord(record);
    const long = "é".repeat(70_000) + "🙂".repeat(20_000);
    await store.putItems("c1", { transcript: [{ seq: 1, role: "agent", text: long, at: 1 }] });
    for await (const entry of kv.list({ prefix: ["call_item", "c1"] })) {
      const size = new TextEncoder().encode(JSON.stringify(entry.value)).length;
      assert.ok(size < 64 * 1024, `value of ${size} bytes`);
    }
    const detail = await store.getDetail("c1");
    assert.equal(detail?.transcript.length, 1);
    assert.equal(detail?.transcript[0].text, long);
  });
});

Deno.test("records past retention are hidden and purged", async () => {
  await withTempKv(async (kv) => {
    let now = Date.UTC(2026, 10, 21);
    const store = new CallStore(kv, 30, () => now);
    const base = {
      callSid: null,
      mode: "relay" as const,
      agent: "a",
      direction: "inbound",
      from: "",
      to: "",
    };
    await store.putRecord(newCallRecord({ ...base, id: "old", startedAt: now - 31 * DAY }));
    await store.putRecord(newCallRecord({ ...base, id: "new", startedAt: now - 29 * DAY }));
    await store.putItems("old", { transcript: [{ seq: 1, role: "caller", text: "x", at: 0 }] });
    assert.equal(await store.getRecord("old"), null);
    assert.deepEqual((await store.list()).map((r) => r.id), ["new"]);
    assert.equal(await store.purgeExpired(), 1);
    const left = [];
    for await (const entry of kv.list({ prefix: [] })) left.push(entry.key.join("/"));
    assert.ok(left.every((k) => !k.includes("old")), left.join(", "));
    now += 2 * DAY;
    assert.deepEqual(await store.list(), []);
  });
});

Deno.test("list filters by agent, mode, outcome, date and transcript text", async () => {
  await withTempKv(async (kv) => {
    const store = new CallStore(kv);
    const t0 = Date.now() - 10_000;
    const calls = [
      {
        id: "a",
        agent: "default",
        mode: "relay",
        outcome: "caller-hangup",
        text: "my order is late",
      },
      {
        id: "b",
        agent: "appointments",
        mode: "realtime",
        outcome: "agent-ended",
        text: "book Tuesday",
      },
      { id: "c", agent: "appointments", mode: "relay", outcome: "live", text: "cancel my ORDER" },
    ] as const;
    for (const [i, c] of calls.entries()) {
      await store.putRecord({
        ...newCallRecord({
          id: c.id,
          callSid: `CA${c.id}`,
          mode: c.mode,
          agent: c.agent,
          direction: "inbound",
          from: "",
          to: "",
          startedAt: t0 + i * 1000,
        }),
        outcome: c.outcome,
      });
      await store.putItems(c.id, { transcript: [{ seq: 1, role: "caller", text: c.text, at: 0 }] });
    }
    const ids = async (f: Parameters<CallStore["list"]>[0]) =>
      (await store.list(f)).map((r) => r.id);
    assert.deepEqual(await ids({}), ["c", "b", "a"]);
    assert.deepEqual(await ids({ agent: "appointments" }), ["c", "b"]);
    assert.deepEqual(await ids({ mode: "relay" }), ["c", "a"]);
    assert.deepEqual(await ids({ outcome: "live" }), ["c"]);
    assert.deepEqual(await ids({ from: t0 + 500, to: t0 + 1500 }), ["b"]);
    assert.deepEqual(await ids({ search: "order" }), ["c", "a"]);
    assert.deepEqual(await ids({ limit: 1 }), ["c"]);
  });
});

Deno.test("KV write failures are logged and retried; nothing recorded is lost", async () => {
  await withTempKv(async (kv) => {
    const clock = new FakeClock();
    const lines: Record<string, unknown>[] = [];
    const log = new Logger("debug", {}, (line) => lines.push(JSON.parse(line)));
    let failing = 3;
    const flaky = new (class extends CallStore {
      override async putItems(...args: Parameters<CallStore["putItems"]>) {
        if (failing > 0) {
          failing--;
          throw new Error("KV unavailable");
        }
        await super.putItems(...args);
      }
    })(kv);
    const recorder = new CallRecorder(
      flaky,
      newCallRecord({
        id: "f",
        callSid: "CAf",
        mode: "realtime",
        agent: "default",
        direction: "inbound",
        from: "",
        to: "",
      }),
      { clock, log, onClosed: () => {} },
    );
    recorder.setModel({
      model: "gpt-realtime",
      api: null,
      temperature: null,
      maxOutputTokens: null,
    });
    recorder.transcript({ role: "caller", text: "hello", at: 1 });
    recorder.latency({
      latencyMs: 420,
      inputTokens: 1000,
      outputTokens: 500,
      outcome: "completed",
    });
    await recorder.flush();
    await recorder.flush();
    assert.equal(lines.filter((l) => l.event === "records.write_failed").length, 3);
    assert.equal(await flaky.getRecord("f"), null, "nothing written yet");
    await recorder.end("caller-hangup");
    const detail = await flaky.getDetail("f");
    assert.equal(detail?.record.outcome, "caller-hangup");
    assert.deepEqual(detail?.transcript.map((t) => t.text), ["hello"]);
    assert.equal(detail?.record.latencyP50Ms, 420);
    assert.equal(
      detail?.record.costUsd,
      costUsd(BUILTIN_PRICES, "gpt-realtime", { ...NO_USAGE, input: 1000, output: 500 }),
    );
    assert.ok(detail!.record.costUsd! > 0);
    assert.equal(clock.pending, 0, "no retry left behind");
  });
});
