/**
 * Tokens and audio already on their way when a reply is cut off never reach the caller.
 *
 * - Realtime: the real API may still send a few `response.output_audio.delta`s of a response
 *   after it was cancelled (by the service's `response.cancel` after a key press, or by the
 *   server itself on barge-in), before its `response.done` with status `cancelled`. The fake
 *   does the same (`cancelLateDeltas`, `lateDeltas`): after the `clear`, every byte the caller
 *   gets is the next reply's, from its start.
 * - Relay: the model's server writes the rest of a reply in one go right as the service aborts
 *   its stream on an interrupt (`burstAfter`): once the cut turn is closed for Twilio
 *   (`{"type":"text","token":"","last":true}`), no token of that reply follows.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { RealtimeCall } from "../lib/realtime/realtime_call.ts";
import { waitUntil } from "./fakes/event_log.ts";
import type { FakeRealtimeSession } from "./fakes/fake_realtime_session.ts";
import type { MediaStreamsClient } from "./fakes/media_streams_client.ts";
import { replyAudio } from "./fakes/realtime_replies.ts";
import { type RealtimeHarness, startRealtime } from "./helpers/realtime_harness.ts";
import { relayHarness, within } from "./helpers/relay_harness.ts";

/** The greeting: long and paced in real time, so it is still being sent when it is cut. */
const LONG = { audioMs: 3000, deltaMs: 100, speed: 1 };
/** The reply after the cut: 400 ms of audio. */
const NEXT = { audioMs: 400, deltaMs: 100, speed: 4, transcript: "Next." };
/** Deltas of the cut reply the fake still sends after the cut. */
const LATE = 3;

function decoded(payloads: string[]): Buffer {
  return Buffer.concat(payloads.map((p) => Buffer.from(p, "base64")));
}

/** A realtime call 200 ms into its greeting, counting the audio received before each clear. */
async function callInGreeting(h: RealtimeHarness) {
  const clearedAt: number[] = [];
  // deno-lint-ignore prefer-const -- the clear handler needs the client the harness makes
  let client: MediaStreamsClient;
  client = await h.call({ onClear: () => clearedAt.push(client.audio.length) });
  const session = await h.fake.session();
  await client.echoes.waitFor(() => client.playedBytes() >= 200 * 8, { what: "200 ms heard" });
  assert.ok(session.activeResponse, "the greeting is still being sent");
  h.fake.replies.push(NEXT);
  return { client, session, clearedAt };
}

/** Waits for the next reply to arrive whole; checks it is all the caller got after the clear. */
async function onlyTheNextReplyAfterTheClear(
  h: RealtimeHarness,
  call: { client: MediaStreamsClient; session: FakeRealtimeSession; clearedAt: number[] },
) {
  const { client, session, clearedAt } = call;
  await waitUntil(() => h.fake.replySeeds.length === 2, { what: "the next reply" });
  await client.clears.waitFor(() => true, { what: "the clear" });
  const after = () => decoded(client.audio.slice(clearedAt[0]));
  await waitUntil(() => after().length >= NEXT.audioMs * 8, { what: "the next reply's audio" });
  const next = Buffer.from(replyAudio(h.fake.replySeeds[1], NEXT.audioMs * 8));
  assert.equal(clearedAt.length, 1);
  assert.ok(after().equals(next), "after the clear: the next reply's audio, only it, whole");
  assert.equal(session.lateDeltasSent, LATE, "the fake sent deltas of the cut reply after the cut");
  const bridge = h.service.services.registry.list()[0] as RealtimeCall;
  assert.ok(bridge.stats.droppedDeltas >= LATE, "the bridge dropped them");
  assert.deepEqual(session.errors.items, []);
}

Deno.test("key press: deltas sent after response.cancel are never heard", async () => {
  const h = await startRealtime({ fake: { reply: LONG } });
  try {
    h.fake.cancelLateDeltas = LATE;
    const call = await callInGreeting(h);
    call.client.dtmf("5");
    await call.session.events.waitFor((e) => e.type === "response.cancel", { what: "the cancel" });
    await onlyTheNextReplyAfterTheClear(h, call);
    // The cancelled response ended as the real one does: response.done, status cancelled.
    const bridge = h.service.services.registry.list()[0] as RealtimeCall;
    await waitUntil(() => bridge.turns[0]?.status === "cancelled", { what: "its done" });
  } finally {
    await h.close();
  }
});

/**
 * A call whose greeting sends 100 ms every 2 s (most of the time the caller hears nothing, yet
 * the reply runs), cut by `cut` between two deltas: after the cut, nothing is cleared (nothing
 * plays) and the caller gets the next reply's audio only.
 */
async function cutBetweenDeltas(
  late: { cancel?: number; speech?: number },
  cut: (client: MediaStreamsClient, session: FakeRealtimeSession) => Promise<void> | void,
) {
  const h = await startRealtime({ fake: { reply: { audioMs: 3000, deltaMs: 100, speed: 0.05 } } });
  try {
    h.fake.cancelLateDeltas = late.cancel ?? 0;
    h.fake.lateDeltas = late.speech ?? 0;
    const client = await h.call();
    const session = await h.fake.session();
    await client.echoes.waitFor(
      () => client.receivedBytes >= 800 && client.playedBytes() >= client.receivedBytes,
      { what: "the first delta played whole" },
    );
    assert.ok(session.activeResponse, "the greeting is still being sent");
    h.fake.replies.push(NEXT);
    const cutAt = client.audio.length;
    await cut(client, session);
    await waitUntil(() => h.fake.replySeeds.length === 2, { what: "the next reply" });
    const after = () => decoded(client.audio.slice(cutAt));
    await waitUntil(() => after().length >= NEXT.audioMs * 8, { what: "the next reply's audio" });
    assert.equal(client.clears.items.length, 0, "nothing was playing: nothing to clear");
    const next = Buffer.from(replyAudio(h.fake.replySeeds[1], NEXT.audioMs * 8));
    assert.ok(after().equals(next), "after the cut: the next reply's audio, only it");
    assert.equal(session.lateDeltasSent, LATE);
    assert.deepEqual(session.errors.items, []);
  } finally {
    await h.close();
  }
}

Deno.test("key press between two deltas: the cancelled reply's are dropped", async () => {
  await cutBetweenDeltas({ cancel: LATE }, async (client, session) => {
    client.dtmf("5");
    await session.events.waitFor((e) => e.type === "response.cancel", { what: "the cancel" });
  });
});

Deno.test("barge-in between two deltas: the cut reply's are dropped", async () => {
  await cutBetweenDeltas({ speech: LATE }, (_client, session) => {
    session.speechStarted();
    session.speechStopped("wait, one question");
  });
});

Deno.test("barge-in: deltas sent after speech_started are never heard", async () => {
  const h = await startRealtime({ fake: { reply: LONG } });
  try {
    h.fake.lateDeltas = LATE;
    const call = await callInGreeting(h);
    call.session.speechStarted();
    await call.client.clears.waitFor(() => true, { what: "the clear" });
    call.session.speechStopped("actually, something else");
    await onlyTheNextReplyAfterTheClear(h, call);
    assert.ok(!call.session.events.items.some((e) => e.type === "response.cancel"));
  } finally {
    await h.close();
  }
});

Deno.test("relay: tokens in flight at an interrupt never follow the closed turn", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    const cut = ["One, ", "two, ", "three, ", "four, ", "five."];
    h.fake.script({ tokens: cut, burstAfter: 1 }, { tokens: ["Sure, ", "go ahead."] });
    const call = await h.call();
    call.prompt("Count to five");
    await call.next((m) => m.type === "text" && m.token === "One, ");
    const request = h.fake.requests[0];
    call.interrupt("One, ");
    const closing = await call.next((m) => m.type === "text" && m.last === true);
    assert.deepEqual(closing, { type: "text", token: "", last: true });
    // The server writes the rest of the reply now, in one go, before it has noticed the abort.
    request.release();
    call.prompt("Can I ask something else?");
    await call.turn();
    // Between the closed turn and the next reply: nothing of the cut reply.
    const texts = call.received.filter((m) => m.type === "text");
    const after = texts.slice(texts.indexOf(closing) + 1).map((m) => m.token);
    assert.deepEqual(after, ["Sure, ", "go ahead.", ""], JSON.stringify(after));
    const before = texts.slice(0, texts.indexOf(closing)).map((m) => m.token);
    assert.deepEqual(before, ["One, "]);
    await within(request.aborted, 2000, "the cut reply's stream aborted");
  } finally {
    await h.close();
  }
});
