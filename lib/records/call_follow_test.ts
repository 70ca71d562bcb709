/**
 * followCall, with a real call recorder and store on an in-memory KV and two instances' feeds:
 * a call on this instance is told live, once, whatever its record says, and once seen here its
 * record is not read again; a call on another instance is told from its record once it ended —
 * the same items the live feed told, the end last — and not before; the follower looks every
 * 500 ms unless told otherwise, and stops its timer and its feed when told the end, when stopped
 * (even in the middle of a look), and when this process's feed closes.
 */

import assert from "node:assert/strict";
import { waitUntil } from "../../tests/fakes/event_log.ts";
import { FakeClock } from "../../tests/helpers/fake_clock.ts";
import { Logger } from "../platform/log.ts";
import { followCall } from "./call_follow.ts";
import { CallRecords } from "./call_recorder.ts";
import { type CallDetail, CallStore } from "./call_store.ts";
import { type FeedItem, ToolFeed } from "./tool_feed.ts";
import { withTempKv } from "../../tests/helpers/temp_kv.ts";

const SID = "CA0123456789abcdef0123456789abcdef";
/** Not the default (500 ms), nor the recorder's flush (1 s): its own timers are told apart. */
const POLL_MS = 250;

/** Instance "here" (whose feed the follower hears) and instance "there" (which holds the call). */
function twoInstances(kv: Deno.Kv) {
  const store = new CallStore(kv);
  const clock = new FakeClock();
  const log = new Logger("error", {}, () => {});
  const here = { feed: new ToolFeed(), records: new CallRecords(store, { clock, log }) };
  const there = { feed: new ToolFeed(), records: new CallRecords(store, { clock, log }) };
  here.records.observe(here.feed);
  there.records.observe(there.feed);
  return { kv, store, clock, here, there };
}

/** Runs `test` with {@link twoInstances} on a KV of its own. */
function withTwoInstances(
  test: (instances: ReturnType<typeof twoInstances>) => Promise<void>,
): Promise<void> {
  return withTempKv((kv) => test(twoInstances(kv)));
}

type Instance = ReturnType<typeof twoInstances>["here"];

/** The kinds of feed item {@link recordCall}'s call tells, in order, once it ended. */
const CALL_KINDS = ["transcript", "tool", "transcript", "latency", "ended"];

/** The record of call {@link SID} opened on `at`, under `id`. */
function openRecord(at: Instance, id: string) {
  return at.records.open({
    id,
    callSid: SID,
    mode: "relay",
    agent: "default",
    direction: "inbound",
    from: "+15550100123",
    to: "+15550100999",
  });
}

/** One call on `at`: a caller line, a tool call, the agent's answer, its latency. */
function recordCall(at: Instance) {
  const call = openRecord(at, "rec-1");
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

Deno.test("followCall: a call on this instance is told live, once; told the end, it lets go", () =>
  withTwoInstances(async ({ store, clock, here }) => {
    const live = listener();
    const stop = followCall({ toolFeed: here.feed, store, clock }, SID, live.listen, {
      pollMs: POLL_MS,
    });
    const call = recordCall(here);
    await call.end("caller-hangup");
    await live.ended;
    assert.deepEqual(live.items.map((i) => i?.kind), CALL_KINDS);
    // Told the end, it lets go at once: of this process's feed, and of its next look (so no
    // look at the ended record can tell the call again).
    assert.equal(here.feed.size, 0, "unsubscribed on the end");
    assert.equal(clock.scheduledFor(POLL_MS), 0, "no look left once the end was told");
    assert.equal(clock.pending, 0, "no timer left once the end was told");
    stop();
  }));

Deno.test("followCall: a call on another instance is told from its record once it ended", () =>
  withTwoInstances(async ({ store, clock, here, there }) => {
    const onThere = listener();
    there.feed.subscribe(SID, onThere.listen);
    const followed = listener();
    followCall({ toolFeed: here.feed, store, clock }, SID, followed.listen, { pollMs: POLL_MS });
    const call = recordCall(there);
    await there.records.flushAll();
    // Live there, and written to KV, but not ended: nothing is told here.
    clock.tick(POLL_MS);
    assert.ok(await store.getRecord("rec-1"));
    // The look reads KV, finds the record not ended, tells nothing and schedules the next.
    await waitUntil(() => clock.scheduledFor(POLL_MS) === 1, { what: "the next look" });
    assert.deepEqual(followed.items, []);

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
  }));

Deno.test("followCall: stopped, or this process's feed closing, ends the looking", () =>
  withTwoInstances(async ({ store, clock, here }) => {
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
  }));

/** `store`, counting the follower's looks (each reads the call's records by its SID). */
function countingStore(store: CallStore) {
  const counted = {
    looks: 0,
    findBySid: (callSid: string) => {
      counted.looks++;
      return store.findBySid(callSid);
    },
    getDetail: (id: string) => store.getDetail(id),
  };
  return counted;
}

Deno.test("followCall: by default it looks every 500 ms, and again after each look", () =>
  withTwoInstances(async ({ store, clock, here }) => {
    const counted = countingStore(store);
    const stop = followCall({ toolFeed: here.feed, store: counted, clock }, SID, () => {});
    clock.tick(499);
    assert.equal(counted.looks, 0, "not before 500 ms");
    clock.tick(1);
    assert.equal(counted.looks, 1, "at 500 ms");
    await waitUntil(() => clock.scheduledFor(500) === 1, { what: "the next look" });
    clock.tick(500);
    assert.equal(counted.looks, 2, "500 ms after the first");
    stop();
  }));

Deno.test("followCall: once the call is seen here, its record is not read again", () =>
  withTwoInstances(async ({ store, clock, here, there }) => {
    const counted = countingStore(store);
    const live = listener();
    followCall({ toolFeed: here.feed, store: counted, clock }, SID, live.listen, {
      pollMs: POLL_MS,
    });
    clock.tick(POLL_MS);
    assert.equal(counted.looks, 1);
    await waitUntil(() => clock.scheduledFor(POLL_MS) === 1, { what: "the next look" });
    const call = recordCall(here);
    assert.equal(live.items.length, 4, "told live");
    // Meanwhile a record of the same SID ended elsewhere (an earlier session of the call): what
    // this process's feed tells must not be told again from it.
    const earlier = openRecord(there, "rec-0");
    await earlier.end("transferred");
    clock.tick(POLL_MS);
    assert.equal(counted.looks, 1, "the due look did not read KV");
    assert.equal(clock.scheduledFor(POLL_MS), 0, "nor scheduled another");
    await call.end("caller-hangup");
    await live.ended;
    assert.deepEqual(live.items.map((i) => i?.kind), CALL_KINDS);
    assert.deepEqual(live.items.at(-1), { kind: "ended", item: { outcome: "caller-hangup" } });
  }));

Deno.test("followCall: stopped in a look, it tells nothing and looks no more", () =>
  withTwoInstances(async ({ store, clock, there }) => {
    const call = recordCall(there);
    await call.end("agent-ended");
    const detail = await store.getDetail("rec-1");
    assert.ok(detail, "the ended record is in KV");
    // The follower's read of the detail is answered only once it has been stopped.
    let asked = false;
    let answer: (detail: CallDetail | null) => void = () => {};
    const answered = new Promise<CallDetail | null>((resolve) => (answer = resolve));
    const slow = {
      findBySid: (callSid: string) => store.findBySid(callSid),
      getDetail: (_id: string) => {
        asked = true;
        return answered;
      },
    };
    const items: (FeedItem | null)[] = [];
    const feed = new ToolFeed();
    const stop = followCall({ toolFeed: feed, store: slow, clock }, SID, (i) => items.push(i), {
      pollMs: POLL_MS,
    });
    clock.tick(POLL_MS);
    await waitUntil(() => asked, { what: "the look to read the detail" });
    stop();
    answer(detail);
    // The look awaited `answered` before this test did, so it has gone on by now.
    await answered;
    assert.deepEqual(items, [], "nothing told after the stop");
    assert.equal(clock.scheduledFor(POLL_MS), 0, "no look scheduled after the stop");
    assert.equal(feed.size, 0);
  }));
