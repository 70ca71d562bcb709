/**
 * followCall, with a real call recorder and store on an in-memory KV and two instances' feeds:
 * a call on this instance is told live, once, whatever its record says; a call on another
 * instance is told from its record once it ended — the same items the live feed told, the end
 * last — and not before; the follower stops its timer when told the end, when stopped, and when
 * this process's feed closes.
 */

import assert from "node:assert/strict";
import { waitUntil } from "../../tests/fakes/event_log.ts";
import { FakeClock } from "../../tests/helpers/fake_clock.ts";
import { Logger } from "../platform/log.ts";
import { followCall } from "./call_follow.ts";
import { CallRecords } from "./call_recorder.ts";
import { CallStore } from "./call_store.ts";
import { type FeedItem, ToolFeed } from "./tool_feed.ts";

const SID = "CA0123456789abcdef0123456789abcdef";
const POLL_MS = 500;

/** Instance "here" (whose feed the follower hears) and instance "there" (which holds the call). */
async function twoInstances() {
  const kv = await Deno.openKv(":memory:");
  const store = new CallStore(kv);
  const clock = new FakeClock();
  const log = new Logger("error", {}, () => {});
  const here = { feed: new ToolFeed(), records: new CallRecords(store, { clock, log }) };
  const there = { feed: new ToolFeed(), records: new CallRecords(store, { clock, log }) };
  here.records.observe(here.feed);
  there.records.observe(there.feed);
  return { kv, store, clock, here, there };
}

type Instance = Awaited<ReturnType<typeof twoInstances>>["here"];

/** One call on `at`: a caller line, a tool call, the agent's answer, its latency. */
function recordCall(at: Instance) {
  const call = at.records.open({
    id: "rec-1",
    callSid: SID,
    mode: "relay",
    agent: "default",
    direction: "inbound",
    from: "+15550100123",
    to: "+15550100999",
  });
  call.transcript({ role: "caller", text: "Book me in", at: 1 });
  call.event("tool", "find_slots", {
    name: "find_slots",
    arguments: '{"date":"2030-03-05"}',
    ok: true,
    output: '{"slots":["09:00"]}',
    durationMs: 12,
  });
  call.event("dtmf", "pressed 1"); // not a feed item
  call.transcript({ role: "agent", text: "Nine works.", at: 2 });
  call.latency({ latencyMs: 420, inputTokens: 10, outputTokens: 3, outcome: "completed" });
  return call;
}

/** Items told to a listener, and a wait for the end. */
function listener() {
  const items: (FeedItem | null)[] = [];
  let told: () => void = () => {};
  const ended = new Promise<void>((resolve) => (told = resolve));
  const listen = (item: FeedItem | null) => {
    items.push(item);
    if (item === null || item.kind === "ended") told();
  };
  return { items, ended, listen };
}

Deno.test("followCall: a call on this instance is told live, once, even after its record ends", async () => {
  const { kv, store, clock, here } = await twoInstances();
  try {
    const live = listener();
    const stop = followCall({ toolFeed: here.feed, store, clock }, SID, live.listen, {
      pollMs: POLL_MS,
    });
    const call = recordCall(here);
    await call.end("caller-hangup");
    await live.ended;
    // The ended record is in KV now; a late look must not tell it again.
    clock.tick(POLL_MS * 4);
    await here.records.flushAll();
    assert.deepEqual(live.items.map((i) => i?.kind), [
      "transcript",
      "tool",
      "transcript",
      "latency",
      "ended",
    ]);
    assert.equal(clock.pending, 0, "no look is scheduled once the end was told");
    stop();
  } finally {
    kv.close();
  }
});

Deno.test("followCall: a call on another instance is told from its record once it ended", async () => {
  const { kv, store, clock, here, there } = await twoInstances();
  try {
    const onThere = listener();
    there.feed.subscribe(SID, onThere.listen);
    const followed = listener();
    followCall({ toolFeed: here.feed, store, clock }, SID, followed.listen, { pollMs: POLL_MS });
    const call = recordCall(there);
    await there.records.flushAll();
    // Live there, and written to KV, but not ended: nothing is told here.
    clock.tick(POLL_MS);
    assert.ok(await store.getRecord("rec-1"));
    // The look reads KV, then schedules the next.
    await waitUntil(() => clock.pending === 1, { what: "the next look" });
    assert.deepEqual(followed.items, []);
    assert.equal(clock.pending, 1, "it looks again");

    await call.end("agent-ended");
    await onThere.ended;
    clock.tick(POLL_MS);
    await followed.ended;
    // What the call's own instance told live, in the record's order: transcript, tools, latencies.
    const byKind = (items: (FeedItem | null)[], kind: string) =>
      items.filter((i) => i?.kind === kind);
    for (const kind of ["transcript", "tool", "latency", "ended"]) {
      assert.deepEqual(byKind(followed.items, kind), byKind(onThere.items, kind), kind);
    }
    assert.equal(followed.items.length, onThere.items.length);
    assert.deepEqual(followed.items.at(-1), { kind: "ended", item: { outcome: "agent-ended" } });
    assert.equal(clock.pending, 0);
  } finally {
    kv.close();
  }
});

Deno.test("followCall: stopped, or this process's feed closing, ends the looking", async () => {
  const { kv, store, clock, here } = await twoInstances();
  try {
    const stopped = listener();
    const stop = followCall({ toolFeed: here.feed, store, clock }, SID, stopped.listen);
    assert.equal(clock.pending, 1);
    stop();
    assert.equal(clock.pending, 0);
    assert.equal(here.feed.size, 0, "unsubscribed");

    const closing = listener();
    followCall({ toolFeed: here.feed, store, clock }, SID, closing.listen);
    here.feed.close();
    await closing.ended;
    assert.deepEqual(closing.items, [null]);
    assert.equal(clock.pending, 0);
  } finally {
    kv.close();
  }
});
