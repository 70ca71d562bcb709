/**
 * The realtime bridge over real sockets on 127.0.0.1: greeting, audio both ways byte for byte,
 * barge-in against the emulated playout clock, DTMF.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { waitUntil } from "./fakes/event_log.ts";
import { replyAudio } from "./fakes/realtime_replies.ts";
import type { MediaStreamsClient } from "./fakes/media_streams_client.ts";
import { callerFrame, type RealtimeHarness, startRealtime } from "./helpers/realtime_harness.ts";
import type { RealtimeCall } from "../lib/realtime/realtime_call.ts";

function bridgeOf(h: RealtimeHarness): RealtimeCall {
  const calls = h.service.services.registry.list();
  assert.equal(calls.length, 1);
  return calls[0] as RealtimeCall;
}

function decoded(payloads: string[]): Buffer {
  return Buffer.concat(payloads.map((p) => Buffer.from(p, "base64")));
}

/** Waits until the caller has heard at least `ms` of assistant audio since `fromBytes`. */
async function heardAtLeast(client: MediaStreamsClient, fromBytes: number, ms: number) {
  await client.echoes.waitFor(() => client.playedBytes() - fromBytes >= ms * 8, {
    what: `${ms} ms of audio played`,
  });
}

/** 20 ms of µ-law unique to `n` (below 65536), unlike {@link callerFrame}'s, which repeat. */
function numberedFrame(n: number): string {
  const bytes = new Uint8Array(160).fill(0xff);
  bytes[0] = n >> 8;
  bytes[1] = n & 0xff;
  return btoa(String.fromCharCode(...bytes));
}

/** Triggers a barge-in and checks `audio_end_ms` against what the emulated caller heard. */
async function bargeIn(h: RealtimeHarness, client: MediaStreamsClient, itemStartBytes: number) {
  const session = await h.fake.session(h.fake.sessions.items.length - 1);
  const truncates = session.truncates.items.length;
  const clears = client.clears.items.length;
  session.speechStarted();
  const clear = await client.clears.waitFor(() => true, { what: "clear", from: clears });
  const truncate = await session.truncates.waitFor(() => true, {
    what: "truncate",
    from: truncates,
  });
  const heardMs = (clear.playedBytes - itemStartBytes) / 8;
  assert.ok(
    Math.abs(truncate.audioEndMs - heardMs) <= 20,
    `audio_end_ms ${truncate.audioEndMs} vs heard ${heardMs.toFixed(1)} ms`,
  );
  assert.ok(clear.droppedBytes > 0, "the clear dropped queued audio");
  return { truncate, heardMs };
}

Deno.test("greeting: session configured in GA shape, model speaks first, audio arrives exact", async () => {
  const h = await startRealtime({ fake: { reply: { audioMs: 600, deltaMs: 100, speed: 8 } } });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    const create = await session.events.waitFor((e) => e.type === "response.create", {
      what: "greeting response.create",
    });
    const update = session.events.items.find((e) => e.type === "session.update")!;
    assert.ok(session.events.items.indexOf(update) < session.events.items.indexOf(create));
    const s = update.session as {
      type: string;
      model: string;
      audio: {
        input: {
          format: unknown;
          turn_detection: { type: string; silence_duration_ms: number };
          transcription: { model: string };
        };
        output: { format: unknown; voice: string };
      };
    };
    assert.equal(s.type, "realtime");
    assert.equal(s.model, "gpt-realtime");
    assert.deepEqual(s.audio.input.format, { type: "audio/pcmu" });
    assert.deepEqual(s.audio.output.format, { type: "audio/pcmu" });
    assert.equal(s.audio.output.voice, "marin");
    assert.equal(s.audio.input.turn_detection.type, "server_vad");
    assert.equal(s.audio.input.turn_detection.silence_duration_ms, 500);
    assert.equal(s.audio.input.transcription.model, "gpt-4o-mini-transcribe");
    // The agent's instructions first (a response's own replace the session's), then the ask.
    const agent = (update.session as { instructions: string }).instructions;
    assert.equal(
      (create.response as { instructions: string }).instructions,
      `${agent}\n\nGreet the caller briefly and ask how you can help.`,
    );
    const upgrade = h.fake.upgrades.items[0];
    assert.equal(upgrade.authorization, "Bearer sk-test-realtime");
    assert.match(upgrade.url, /\/v1\/realtime\?model=gpt-realtime$/);

    // All of the greeting reaches the caller byte for byte, each chunk followed by a named mark.
    const expected = Buffer.from(replyAudio(h.fake.replySeeds[0], 600 * 8));
    await waitUntil(() => client.receivedBytes === expected.length && !bridgeOf(h).playing, {
      what: "greeting played in full",
    });
    assert.ok(decoded(client.audio).equals(expected));
    // One media and one mark per upstream delta (600 ms in 100 ms deltas), not one per 20 ms.
    const marks = client.received.filter((m) => m.event === "mark");
    assert.equal(marks.length, 6, `a mark after each delta (got ${marks.length})`);
    assert.equal(client.received.filter((m) => m.event === "media").length, 6);
    assert.equal(session.errors.items.length, 0, JSON.stringify(session.errors.items));

    const bridge = bridgeOf(h);
    await waitUntil(() => bridge.turns[0]?.status === "completed", { what: "turn done" });
    assert.equal(bridge.turns[0].usage?.totalTokens, 160);
    assert.ok(bridge.turns[0].latencyMs !== null && bridge.turns[0].latencyMs >= 0);
    assert.equal(bridge.transcript[0].role, "agent");
    assert.equal(bridge.transcript[0].text, "Hello, how can I help you today?");
  } finally {
    await h.close();
  }
});

Deno.test("no greeting when REALTIME_GREETING is empty; caller audio passes byte for byte, none lost while connecting", async () => {
  const h = await startRealtime({ env: { REALTIME_GREETING: "" } });
  try {
    h.fake.holdUpgrades = true;
    const client = await h.call();
    // Frames sent while the upstream socket is still connecting are kept, not lost.
    const frames = Array.from({ length: 40 }, (_, i) => callerFrame(i));
    for (const frame of frames.slice(0, 25)) client.media(frame);
    await waitUntil(() => bridgeOf(h).stats.framesIn === 25, { what: "25 frames at the bridge" });
    assert.equal(h.fake.sessions.items.length, 0, "upstream still connecting");
    h.fake.releaseUpgrades();
    const session = await h.fake.session();
    for (const frame of frames.slice(25)) client.media(frame);
    await waitUntil(() => session.appended.length === frames.length, {
      what: "every frame appended",
    });
    assert.deepEqual(session.appended, frames);
    assert.equal(session.errors.items.length, 0, JSON.stringify(session.errors.items));
    const firstAppend = session.events.items.findIndex((e) =>
      e.type === "input_audio_buffer.append"
    );
    const update = session.events.items.findIndex((e) => e.type === "session.update");
    assert.ok(update >= 0 && update < firstAppend, "session.update before any audio");
    assert.ok(!session.events.items.some((e) => e.type === "response.create"), "no greeting");
  } finally {
    await h.close();
  }
});

Deno.test("caller audio held while the upstream connects: at most 15 s, oldest kept", async () => {
  const h = await startRealtime({ env: { REALTIME_GREETING: "" } });
  try {
    h.fake.holdUpgrades = true;
    const client = await h.call();
    // 15 s at 50 frames a second are held, and the 10 frames past them are dropped.
    const held = 750;
    const frames = Array.from({ length: held + 10 }, (_, i) => numberedFrame(i));
    for (const frame of frames) client.media(frame);
    await waitUntil(() => bridgeOf(h).stats.framesIn === frames.length, {
      what: "every frame at the bridge",
    });
    const dropped = h.logs("realtime.frame_dropped").filter((l) =>
      l.error === "caller audio buffer full"
    );
    assert.equal(dropped.length, 10, "each frame over the cap is counted as dropped");
    assert.equal(h.fake.sessions.items.length, 0, "upstream still connecting");
    h.fake.releaseUpgrades();
    const session = await h.fake.session();
    await waitUntil(() => h.logs("realtime.ready").length === 1, { what: "session ready" });
    assert.equal(h.logs("realtime.ready")[0].flushedFrames, held);
    // One more frame, now that the session is ready: once it is there, so is everything before it.
    const after = numberedFrame(9999);
    client.media(after);
    await waitUntil(() => session.appended.includes(after), { what: "the frame sent after" });
    assert.equal(session.appended.length, held + 1);
    assert.ok(session.appended.slice(0, held).every((a, i) => a === frames[i]), "in order");
    assert.equal(session.appended[held], after);
    assert.equal(session.errors.items.length, 0, JSON.stringify(session.errors.items));
  } finally {
    await h.close();
  }
});

Deno.test("barge-in mid-reply: clear, truncate to what was heard, late deltas dropped, no cancel", async () => {
  const h = await startRealtime({ fake: { reply: { audioMs: 2000, deltaMs: 100, speed: 4 } } });
  try {
    h.fake.lateDeltas = 2;
    const client = await h.call();
    const session = await h.fake.session();
    await heardAtLeast(client, 0, 250);
    assert.equal(session.activeResponse !== null, true, "OpenAI is still sending");
    await bargeIn(h, client, 0);
    const afterClear = client.receivedBytes;
    const bridge = bridgeOf(h);
    await waitUntil(() => bridge.stats.droppedDeltas >= 2, { what: "late deltas dropped" });
    assert.equal(client.receivedBytes, afterClear, "no audio of the interrupted reply after clear");
    assert.ok(!session.events.items.some((e) => e.type === "response.cancel"));
    assert.equal(session.errors.items.length, 0, JSON.stringify(session.errors.items));
    assert.equal(bridge.transcript[0].interrupted, true);
  } finally {
    await h.close();
  }
});

Deno.test("barge-in after OpenAI finished sending, then again on the next reply", async () => {
  const h = await startRealtime({ fake: { reply: { audioMs: 2000, deltaMs: 200, speed: 25 } } });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    await waitUntil(() => session.sent.includes("response.done"), { what: "reply fully sent" });
    await heardAtLeast(client, 0, 400);
    await bargeIn(h, client, 0);
    // Twice in a row: the next reply starts on an empty queue.
    const base = client.receivedBytes - client.droppedBytes;
    session.speechStopped("second question");
    await heardAtLeast(client, base, 300);
    await bargeIn(h, client, base);
    assert.equal(session.truncates.items.length, 2);
    assert.equal(session.errors.items.length, 0, JSON.stringify(session.errors.items));
  } finally {
    await h.close();
  }
});

Deno.test("barge-in while Twilio's messages reach the bridge 60 ms late: audio_end_ms still within a frame", async () => {
  const h = await startRealtime({ fake: { reply: { audioMs: 4000, deltaMs: 100, speed: 4 } } });
  let ticker: ReturnType<typeof setInterval> | undefined;
  try {
    const client = await h.call();
    // Caller audio in real time, as Twilio sends it: its timestamps are the media clock.
    const start = performance.now();
    let sent = 0;
    ticker = setInterval(() => {
      while ((sent + 1) * 20 <= performance.now() - start) client.media(callerFrame(sent++));
    }, 5);
    await heardAtLeast(client, 0, 300);
    // The path to the bridge congests: media and echoed marks alike arrive 60 ms late, so the
    // marks the bridge holds lag what the caller hears by three frames.
    client.outgoingDelayMs = 60;
    await heardAtLeast(client, 0, 700);
    await bargeIn(h, client, 0);
  } finally {
    clearInterval(ticker);
    await h.close();
  }
});

Deno.test("no clear or truncate when nothing plays; right after a full reply barge-in counts from the new item", async () => {
  const h = await startRealtime({ fake: { reply: { audioMs: 300, deltaMs: 100, speed: 4 } } });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    const bridge = bridgeOf(h);
    await waitUntil(() => client.receivedBytes === 2400 && !bridge.playing, {
      what: "greeting played in full",
    });
    session.speechStarted();
    h.fake.reply = { audioMs: 1500, deltaMs: 100, speed: 4 };
    session.speechStopped("tell me more");
    await heardAtLeast(client, 2400, 200);
    assert.equal(client.clears.items.length, 0, "no clear when nothing was playing");
    assert.equal(session.truncates.items.length, 0);
    await bargeIn(h, client, 2400);
    assert.equal(session.errors.items.length, 0, JSON.stringify(session.errors.items));
  } finally {
    await h.close();
  }
});

Deno.test("speech before any audio: neither clear, truncate nor cancel", async () => {
  const h = await startRealtime({ env: { REALTIME_GREETING: "" } });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    await session.events.waitFor((e) => e.type === "session.update", { what: "session.update" });
    session.speechStarted();
    session.sendError("some_recoverable", "marker");
    await waitUntil(() => h.logs("realtime.error").length === 1, { what: "marker error logged" });
    assert.equal(client.clears.items.length, 0);
    assert.ok(
      !session.events.items.some((e) =>
        e.type !== "session.update" && e.type !== "input_audio_buffer.append"
      ),
    );
  } finally {
    await h.close();
  }
});

Deno.test("DTMF: rapid presses become one answered turn; a flood is a few turns, not a flood", async () => {
  const h = await startRealtime({
    env: { REALTIME_GREETING: "" },
    fake: { reply: { audioMs: 400, deltaMs: 100, speed: 4 } },
  });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    await session.events.waitFor((e) => e.type === "session.update", { what: "session.update" });
    for (const digit of "123") client.dtmf(digit);
    await session.events.waitFor((e) => e.type === "response.create", { what: "answer" });
    const items = session.events.filter((e) => e.type === "conversation.item.create");
    assert.equal(items.length, 1);
    const item = items[0].item as { role: string; content: { type: string; text: string }[] };
    assert.equal(item.role, "user");
    assert.deepEqual(item.content, [{
      type: "input_text",
      text: "[The caller pressed the keys: 1 2 3]",
    }]);
    await client.received.waitFor((m) => m.event === "media", { what: "the answer's audio" });

    for (let i = 0; i < 70; i++) client.dtmf(String(i % 10));
    await waitUntil(
      () => session.events.filter((e) => e.type === "conversation.item.create").length === 4,
      { what: "the flood given as 3 turns" },
    );
    const creates = session.events.filter((e) => e.type === "response.create").length;
    assert.equal(creates, 4);
    assert.equal(session.errors.items.length, 0, JSON.stringify(session.errors.items));
    const bridge = bridgeOf(h);
    assert.equal(
      bridge.transcript.filter((t) => t.text.startsWith("[The caller pressed")).length,
      4,
    );
  } finally {
    await h.close();
  }
});
