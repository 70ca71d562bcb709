/**
 * PlayoutTracker, exactly: how many ms of the agent's audio the caller has heard at each moment
 * as 20 ms chunks (160 µ-law bytes at 8 bytes/ms) go out and their marks echo back, echoes that
 * come late (taken as the truth) or out of turn (stale), `clear` on a barge-in (what was heard
 * then, and the stale echoes after it), and late echoes dated back by the lateness of Twilio's
 * media frame before them (capped at 100 ms, with a fastest transit that creeps 0.001 ms a frame);
 * a queue that drains and fills again, and one that never drains holding only what is queued.
 */

import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { MULAW_BYTES_PER_MS } from "../protocols/media_streams.ts";
import { type Heard, PlayoutTracker, type SentChunk } from "./playout_tracker.ts";

/** One Twilio frame of µ-law: 160 bytes at 8 bytes per ms. */
const CHUNK_MS = 160 / MULAW_BYTES_PER_MS;

/** Chunk `index` (from 0) of `itemId`: its audio starts `index` × 20 ms into the item. */
function chunk(itemId: string, index: number, session = 1): SentChunk {
  return { itemId, session, startMs: index * CHUNK_MS, durationMs: CHUNK_MS };
}

/** Sends `count` 20 ms chunks of `itemId` at `at`: a burst (the model is faster than real time). */
function burst(tracker: PlayoutTracker, itemId: string, count: number, at: number): string[] {
  return Array.from({ length: count }, (_, i) => tracker.sent(chunk(itemId, i), at));
}

/** `heardMs` of `itemId` heard (in session 1 unless told). */
function heardOf(itemId: string, heardMs: number, session = 1): Heard {
  return { itemId, session, heardMs };
}

/** `actual` equals `expected` up to float rounding (the 0.001 ms drift per frame is not binary). */
function near(actual: number | undefined, expected: number): void {
  assert.ok(
    actual !== undefined && Math.abs(actual - expected) < 1e-6,
    `${actual} is not ${expected}`,
  );
}

Deno.test("a fresh tracker plays nothing, has heard nothing and has no queue correction", () => {
  const tracker = new PlayoutTracker();
  assert.equal(tracker.playing, false);
  assert.equal(tracker.heard(0), null);
  assert.equal(tracker.queueMs, 0);
});

Deno.test("a 160-byte chunk is 20 ms; its mark is named generation:item:end ms", () => {
  assert.equal(CHUNK_MS, 20);
  const tracker = new PlayoutTracker();
  assert.equal(tracker.sent(chunk("item_a", 0), 0), "0:item_a:20");
  assert.equal(tracker.sent(chunk("item_a", 1), 0), "0:item_a:40");
  // 159 bytes (53 base64 groups, the longest cut chunk) is 159 / 8 = 19.875 ms.
  const short = { itemId: "item_a", session: 1, startMs: 40, durationMs: 159 / 8 };
  assert.equal(tracker.sent(short, 0), "0:item_a:59.875");
  assert.equal(tracker.playing, true);
});

Deno.test("a burst plays back to back from when it was sent, never past its end", () => {
  const tracker = new PlayoutTracker();
  burst(tracker, "item_a", 3, 1000); // 60 ms of audio, sent at 1000
  assert.deepEqual(tracker.heard(990), heardOf("item_a", 0)); // nothing before it was sent
  assert.deepEqual(tracker.heard(1000), heardOf("item_a", 0));
  assert.deepEqual(tracker.heard(1005), heardOf("item_a", 5));
  assert.deepEqual(tracker.heard(1020), heardOf("item_a", 20)); // chunk 1 over, chunk 2 starts
  assert.deepEqual(tracker.heard(1035), heardOf("item_a", 35));
  assert.deepEqual(tracker.heard(1059), heardOf("item_a", 59));
  assert.deepEqual(tracker.heard(1060), heardOf("item_a", 60));
  // Its echoes have not come, but no more audio than the 60 ms sent can have been heard.
  assert.deepEqual(tracker.heard(5000), heardOf("item_a", 60));
  assert.equal(tracker.playing, true);
});

Deno.test("audio slower than real time: silence from a chunk's end to the next send", () => {
  const tracker = new PlayoutTracker();
  tracker.sent(chunk("item_a", 0), 0); // plays 0–20
  tracker.sent(chunk("item_a", 1), 50); // sent at 50, so it plays 50–70, not 20–40
  assert.deepEqual(tracker.heard(30), heardOf("item_a", 20));
  assert.deepEqual(tracker.heard(50), heardOf("item_a", 20));
  assert.deepEqual(tracker.heard(60), heardOf("item_a", 30));
  assert.deepEqual(tracker.heard(70), heardOf("item_a", 40));
  // A chunk sent while the one before still plays waits for it: sent at 60, played 70–90.
  tracker.sent(chunk("item_a", 2), 60);
  assert.deepEqual(tracker.heard(80), heardOf("item_a", 50));
});

Deno.test("heard is per item and session: a new item counts from its own 0 ms", () => {
  const tracker = new PlayoutTracker();
  burst(tracker, "item_a", 2, 0); // item_a plays 0–40
  tracker.sent(chunk("item_b", 0, 2), 0); // item_b (session 2) plays 40–60
  tracker.sent(chunk("item_b", 1, 2), 0); // and 60–80
  assert.deepEqual(tracker.heard(39), heardOf("item_a", 39));
  assert.deepEqual(tracker.heard(40), heardOf("item_b", 0, 2));
  assert.deepEqual(tracker.heard(65), heardOf("item_b", 25, 2));
  assert.deepEqual(tracker.heard(100), heardOf("item_b", 40, 2));
});

Deno.test("echoes: playing while more is queued, drained at the last, then nothing", () => {
  const tracker = new PlayoutTracker();
  const [m1, m2, m3] = burst(tracker, "item_a", 3, 0);
  assert.equal(tracker.acknowledged(m1, 20), "playing");
  assert.deepEqual(tracker.heard(30), heardOf("item_a", 30));
  assert.equal(tracker.acknowledged(m2, 40), "playing");
  assert.equal(tracker.playing, true);
  assert.equal(tracker.acknowledged(m3, 60), "drained");
  assert.equal(tracker.playing, false);
  assert.equal(tracker.heard(60), null);
  // An echo of a mark already taken is stale.
  assert.equal(tracker.acknowledged(m3, 61), "stale");
});

Deno.test("a late echo is the truth: the chunks after it play from the echo on", () => {
  const tracker = new PlayoutTracker();
  const [m1] = burst(tracker, "item_a", 5, 0); // 100 ms, estimated to play 0–100
  assert.deepEqual(tracker.heard(30), heardOf("item_a", 30));
  // Chunk 1 (0–20) was echoed only at 30: Twilio started 10 ms later than estimated.
  assert.equal(tracker.acknowledged(m1, 30), "playing");
  // Chunk 2 plays 30–50, 3 50–70, 4 70–90, 5 90–110.
  assert.deepEqual(tracker.heard(30), heardOf("item_a", 20));
  assert.deepEqual(tracker.heard(45), heardOf("item_a", 35));
  assert.deepEqual(tracker.heard(80), heardOf("item_a", 70));
  assert.deepEqual(tracker.heard(109), heardOf("item_a", 99));
  assert.deepEqual(tracker.heard(200), heardOf("item_a", 100));
  // Before the echo, everything up to it counts as heard (chunk 1's 20 ms), nothing more.
  assert.deepEqual(tracker.heard(25), heardOf("item_a", 20));
});

Deno.test("an echo out of turn is stale and changes nothing", () => {
  const tracker = new PlayoutTracker();
  const [m1, m2] = burst(tracker, "item_a", 3, 0);
  assert.equal(tracker.acknowledged("0:item_x:20", 20), "stale");
  assert.equal(tracker.acknowledged(m2, 20), "stale"); // m1 is the next one due
  assert.deepEqual(tracker.heard(50), heardOf("item_a", 50)); // estimate unmoved
  assert.equal(tracker.acknowledged(m1, 30), "playing");
  assert.deepEqual(tracker.heard(50), heardOf("item_a", 40));
});

Deno.test("clear (barge-in): heard up to then; after it nothing plays, old echoes stale", () => {
  const tracker = new PlayoutTracker();
  const [m1, m2, m3, m4, m5] = burst(tracker, "item_a", 5, 0);
  assert.equal(tracker.acknowledged(m1, 20), "playing");
  assert.equal(tracker.acknowledged(m2, 40), "playing");
  // The caller cuts in at 47: chunk 3 (40–60) has played for 7 ms.
  assert.deepEqual(tracker.heard(47), heardOf("item_a", 47));
  tracker.clear();
  assert.equal(tracker.playing, false);
  assert.equal(tracker.heard(47), null);
  // The next reply's audio, sent at 60, gets a new generation of mark names.
  const next = tracker.sent(chunk("item_b", 0), 60);
  assert.equal(next, "1:item_b:20");
  // Twilio echoes the cleared marks at once: all stale, the new chunk still pending.
  for (const stale of [m3, m4, m5]) assert.equal(tracker.acknowledged(stale, 61), "stale");
  assert.equal(tracker.playing, true);
  assert.deepEqual(tracker.heard(70), heardOf("item_b", 10));
  assert.equal(tracker.acknowledged(next, 80), "drained");
});

Deno.test("after clear, a mark of the same item and offset differs by generation", () => {
  const tracker = new PlayoutTracker();
  const old = tracker.sent(chunk("item_a", 0), 0);
  tracker.clear();
  const again = tracker.sent(chunk("item_a", 0), 10);
  assert.equal(old, "0:item_a:20");
  assert.equal(again, "1:item_a:20");
  assert.equal(tracker.acknowledged(old, 11), "stale");
  assert.equal(tracker.playing, true);
  assert.equal(tracker.acknowledged(again, 30), "drained");
});

Deno.test("media timestamps: no correction on time; a late frame is late by its delay", () => {
  const tracker = new PlayoutTracker();
  // Twilio's clock reads 0 when ours reads 5000: a transit of 5000, every frame 20 ms apart.
  tracker.media(0, 5000);
  tracker.media(20, 5020);
  tracker.media(40, 5040);
  assert.equal(tracker.queueMs, 0);
  // Frame 60 comes 30 ms late; the fastest transit crept by 0.001 ms since the last frame.
  tracker.media(60, 5090);
  near(tracker.queueMs, 30 - 0.001);
  // The next frame on time again: no correction.
  tracker.media(80, 5080);
  assert.equal(tracker.queueMs, 0);
  // A frame faster than any before becomes the new fastest: no correction, and it is the base.
  tracker.media(100, 5090);
  assert.equal(tracker.queueMs, 0);
  tracker.media(120, 5120); // transit 5000 against 4990 (+0.001)
  near(tracker.queueMs, 10 - 0.001);
});

Deno.test("media timestamps: a stall longer than 100 ms is corrected by 100 ms only", () => {
  const tracker = new PlayoutTracker();
  tracker.media(0, 0);
  tracker.media(20, 270); // 250 ms late
  assert.equal(tracker.queueMs, 100);
});

Deno.test("the fastest transit creeps 0.001 ms a frame: a shift of the clocks is followed", () => {
  const tracker = new PlayoutTracker();
  tracker.media(0, 0);
  // From frame 1 on, every frame is 10 ms later than frame 0 was (the clocks moved apart).
  let frame = 1;
  const upTo = (last: number) => {
    for (; frame <= last; frame++) tracker.media(frame * 20, frame * 20 + 10);
  };
  upTo(1);
  near(tracker.queueMs, 10 - 0.001);
  upTo(5000); // 100 s at 50 frames a second: 5 ms followed
  near(tracker.queueMs, 10 - 5);
  upTo(10_001); // 10 ms followed after 10 000 frames: the new transit is the fastest
  assert.equal(tracker.queueMs, 0);
});

Deno.test("an echo behind a late media frame is dated back by the frame's lateness", () => {
  const echoes = (withMedia: boolean) => {
    const tracker = new PlayoutTracker();
    const [m1, m2] = burst(tracker, "item_a", 5, 0); // Twilio plays 0–100 without a break
    if (withMedia) tracker.media(0, 0);
    if (withMedia) tracker.media(20, 20);
    assert.equal(tracker.acknowledged(m1, 20), "playing");
    // The socket stalls: frame 40 and chunk 2's echo (played 20–40) both reach us at 70.
    if (withMedia) tracker.media(40, 70);
    assert.equal(tracker.acknowledged(m2, 70), "playing");
    return tracker;
  };
  // Frame 40 was 30 − 0.001 ms late, so chunk 2 ended at 70 − 29.999 = 40.001: chunk 3 played
  // 40.001–60.001, chunk 4 60.001–80.001, of which the caller has heard 9.999 ms at 70.
  const dejittered = echoes(true);
  near(dejittered.queueMs, 29.999);
  near(dejittered.heard(70)?.heardMs, 60 + (70 - 60.001));
  assert.equal(dejittered.heard(70)?.itemId, "item_a");
  // Without the media frames the echo is taken at its arrival: chunk 3 only starts at 70.
  assert.deepEqual(echoes(false).heard(70), heardOf("item_a", 40));
});

Deno.test("an echo behind a frame over 100 ms late is dated back by 100 ms exactly", () => {
  const tracker = new PlayoutTracker();
  const [m1, m2] = burst(tracker, "item_a", 20, 0); // 400 ms played 0–400
  tracker.media(0, 0);
  assert.equal(tracker.acknowledged(m1, 20), "playing");
  tracker.media(40, 290); // 250 ms late: corrected by 100
  assert.equal(tracker.acknowledged(m2, 290), "playing");
  // Chunk 2 taken to end at 290 − 100 = 190: chunk 3 (from 40 ms) plays 190–210, and so on.
  assert.deepEqual(tracker.heard(290), heardOf("item_a", 40 + (290 - 190)));
});

Deno.test("dating back never puts an echo before the echo already taken", () => {
  const tracker = new PlayoutTracker();
  const [m1, m2] = burst(tracker, "item_a", 10, 0);
  tracker.media(0, 0);
  assert.equal(tracker.acknowledged(m1, 50), "playing"); // late, with no late frame: ends at 50
  tracker.media(20, 130); // 110 ms late: corrected by 100
  assert.equal(tracker.acknowledged(m2, 130), "playing"); // 130 − 100 = 30, before 50: kept 50
  // Chunk 3 (from 40 ms) plays 50–70, 4 70–90, 5 90–110, 6 110–130, 7 (from 120 ms) 130–150.
  assert.deepEqual(tracker.heard(130), heardOf("item_a", 120));
});

Deno.test("clear keeps the media timing: it belongs to the socket, not to Twilio's queue", () => {
  const tracker = new PlayoutTracker();
  tracker.sent(chunk("item_a", 0), 0);
  tracker.media(0, 0);
  tracker.media(20, 70); // 50 ms late
  tracker.clear();
  near(tracker.queueMs, 50 - 0.001);
});

Deno.test("a long reply echoed on time: heard stays exact past the marks' compaction", () => {
  const tracker = new PlayoutTracker();
  const names = burst(tracker, "item_a", 130, 0); // 2.6 s, echoed every 20 ms
  // 65 echoes (> 64, and at least half the queue) compact what is acknowledged.
  for (let i = 0; i < 65; i++) {
    assert.equal(tracker.acknowledged(names[i], (i + 1) * 20), "playing");
  }
  assert.deepEqual(tracker.heard(1300), heardOf("item_a", 1300));
  assert.deepEqual(tracker.heard(1310), heardOf("item_a", 1310));
  assert.equal(tracker.acknowledged(names[0], 1320), "stale");
  for (let i = 65; i < 129; i++) {
    assert.equal(tracker.acknowledged(names[i], (i + 1) * 20), "playing");
  }
  assert.deepEqual(tracker.heard(2590), heardOf("item_a", 2590));
  assert.equal(tracker.acknowledged(names[129], 2600), "drained");
  assert.equal(tracker.heard(2600), null);
});

Deno.test("after the queue drained, the next reply plays, is heard and drains in turn", () => {
  const tracker = new PlayoutTracker();
  const [m1, m2] = burst(tracker, "item_a", 2, 0);
  assert.equal(tracker.acknowledged(m1, 20), "playing");
  assert.equal(tracker.acknowledged(m2, 40), "drained");
  assert.equal(tracker.playing, false);
  // The caller answers; the next reply's audio goes out at 1000, in the same generation.
  const [n1, n2] = burst(tracker, "item_b", 2, 1000);
  assert.equal(n1, "0:item_b:20");
  assert.equal(tracker.playing, true);
  assert.deepEqual(tracker.heard(1010), heardOf("item_b", 10));
  assert.equal(tracker.acknowledged(n1, 1020), "playing");
  assert.deepEqual(tracker.heard(1030), heardOf("item_b", 30));
  assert.equal(tracker.acknowledged(n2, 1040), "drained");
  assert.equal(tracker.heard(1040), null);
});

/**
 * V8's full collection: `gc` under `deno task test` (which passes --expose-gc); run on its own
 * (`deno test`, `deno task mutate`) the flag is set now and `gc` taken from a fresh context.
 */
function fullGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

Deno.test("audio that never drains keeps only the queued marks, not the call's", () => {
  const gc = fullGc();
  // Twilio's queue kept 1 chunk deep (audio as fast as real time) or 100 deep (2 s ahead).
  for (const depth of [1, 100]) {
    gc();
    const before = Deno.memoryUsage().heapUsed;
    const tracker = new PlayoutTracker();
    // 50 000 chunks (1 000 s) sent back to back, each echoed when the one `depth` after it goes
    // out: the queue never drains.
    const frames = 50_000;
    const queued = burst(tracker, "item_a", depth, 0);
    for (let i = depth; i < frames; i++) {
      queued.push(tracker.sent(chunk("item_a", i), (i - depth) * CHUNK_MS));
      assert.equal(tracker.acknowledged(queued.shift()!, (i - depth + 1) * CHUNK_MS), "playing");
    }
    gc();
    const retainedBytes = Deno.memoryUsage().heapUsed - before;
    // Kept whole, the acknowledged marks would hold about 7 MB; compacted, a few hundred remain.
    assert.ok(retainedBytes < 2_000_000, `queue ${depth}: ${retainedBytes} bytes retained`);
    // Echoed up to chunk frames − depth: the queued ones play on from its end.
    const echoedMs = (frames - depth) * CHUNK_MS;
    assert.deepEqual(tracker.heard(echoedMs + 10), heardOf("item_a", echoedMs + 10));
    assert.equal(queued.length, depth);
  }
});

Deno.test("queuedMs: what is sent and not yet played, from the last echo, back to back", () => {
  const tracker = new PlayoutTracker();
  assert.equal(tracker.queuedMs(0), 0);
  const names = burst(tracker, "a", 5, 1000);
  // 100 ms sent at once at 1000: all of it queued then, 60 ms of it 40 ms later.
  near(tracker.queuedMs(1000), 100);
  near(tracker.queuedMs(1040), 60);
  // The first echo came late (at 1050): the rest plays from then.
  assert.equal(tracker.acknowledged(names[0], 1050), "playing");
  near(tracker.queuedMs(1050), 80);
  // A chunk sent after the queue ran dry plays from when it was sent.
  near(tracker.queuedMs(5000), 0);
  tracker.sent(chunk("a", 5), 6000);
  near(tracker.queuedMs(6000), 20);
  tracker.clear();
  assert.equal(tracker.queuedMs(6000), 0);
});
