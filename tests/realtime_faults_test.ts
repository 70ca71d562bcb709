/**
 * Faults and limits on the realtime path: OpenAI stalling (no bytes while a response is owed), a
 * Twilio stream gone silent, the call-duration limit, oversized frames, a second stream for the
 * same call, and garbage from OpenAI — the caller is never left in dead air, the record says what
 * happened, and every limit hit is logged.
 */

import assert from "node:assert/strict";
import type { RealtimeCall } from "../lib/realtime/realtime_call.ts";
import { waitUntil } from "./fakes/event_log.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { callerFrame, type RealtimeHarness, startRealtime } from "./helpers/realtime_harness.ts";
import { eventually } from "./helpers/relay_harness.ts";

const FAST = { audioMs: 200, deltaMs: 100, speed: 8 };

function limitHits(h: RealtimeHarness, limit: string): number {
  return h.logs("limit.hit").filter((l) => l.limit === limit).length;
}

/** The call the service has live (the only one). */
function callOf(h: RealtimeHarness): RealtimeCall {
  return h.service.services.registry.list()[0] as RealtimeCall;
}

/** The error events recorded for the call with `callSid`, once its record is final. */
async function recordedErrors(h: RealtimeHarness, callSid: string): Promise<string[]> {
  const store = h.service.services.records.store;
  await eventually(
    async () => ((await store.findBySid(callSid))[0]?.outcome ?? "live") !== "live",
    "record completed",
  );
  const [record] = await store.findBySid(callSid);
  const detail = await store.getDetail(record.id);
  return detail!.events.filter((e) => e.type === "error").map((e) => e.summary);
}

Deno.test("OpenAI stalls while a response is owed: fallback through REST, stream closed, recorded", async () => {
  const h = await startRealtime({
    env: { OPENAI_TIMEOUT_MS: "300", REALTIME_GREETING: "" },
    fake: { reply: FAST },
  });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    await session.events.waitFor((e) => e.type === "session.update", { what: "configured" });
    h.fake.stallReplies = true;
    session.speechStarted();
    session.speechStopped("is anyone there?");
    const update = await h.twilioApi.updates.waitFor(() => true, { what: "fallback redirect" });
    assert.match(update.twiml, /<Say>Sorry, something went wrong/);
    await client.closed;
    assert.ok(h.logs("realtime.stalled").length === 1);
    const errors = await recordedErrors(h, client.callSid);
    assert.deepEqual(errors, ["the call could not go on: upstream-stalled"]);
  } finally {
    await h.close();
  }
});

Deno.test("a Twilio stream that goes silent is closed after the idle timeout", async () => {
  const clock = new FakeClock();
  const h = await startRealtime({
    clock,
    // Long enough that the silence reminder's request (at 10 s) is not taken for a stall.
    env: { TWILIO_IDLE_TIMEOUT_SECONDS: "30", REALTIME_GREETING: "", OPENAI_TIMEOUT_MS: "120000" },
  });
  try {
    const client = await h.call();
    client.media(callerFrame(1));
    await waitUntil(() => h.service.services.registry.list()[0]?.callSid === client.callSid, {
      what: "started",
    });
    const upstream = await h.fake.session();
    // Time moves only once the session is ready (its connect timeout runs on this clock too).
    await waitUntil(() => h.logs("realtime.ready").length === 1, { what: "session ready" });
    const call = callOf(h);
    // The ticks run the watchdog synchronously (and in one go, so that no frame of the silence
    // reminder's reply reaches the service in between): its verdict is readable right after.
    for (let s = 0; s < 30; s++) clock.tick(1000);
    assert.equal(limitHits(h, "idle_timeout"), 0, "30 s of silence is not yet over the limit");
    assert.equal(call.endReason, null);
    assert.equal(h.service.services.registry.size, 1);
    clock.tick(1000);
    assert.equal(limitHits(h, "idle_timeout"), 1, "over the limit at the next check");
    assert.equal(call.endReason, "idle-timeout");
    await client.closed;
    await upstream.closed;
  } finally {
    await h.close();
  }
});

Deno.test("stall watchdog: the call fails once OPENAI_TIMEOUT_MS pass, answer owed", async () => {
  const clock = new FakeClock();
  const h = await startRealtime({
    clock,
    env: { OPENAI_TIMEOUT_MS: "10000", REALTIME_GREETING: "" },
    fake: { reply: FAST },
  });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    await waitUntil(() => h.logs("realtime.ready").length === 1, { what: "session ready" });
    const call = callOf(h);
    h.fake.stallReplies = true;
    session.speechStarted();
    session.speechStopped("is anyone there?");
    // The transcription is the last frame the fake sends: every frame before it was handled, at
    // this clock time, which is when OpenAI was last heard from.
    await waitUntil(
      () => call.transcript.some((e) => e.role === "caller" && e.text === "is anyone there?"),
      { what: "the caller's turn handled" },
    );
    for (let s = 0; s < 10; s++) clock.tick(1000);
    assert.equal(h.logs("realtime.stalled").length, 0, "10 s without a word is not yet a stall");
    assert.equal(call.endReason, null);
    clock.tick(1000);
    assert.equal(h.logs("realtime.stalled").length, 1, "a stall at the next check");
    assert.equal(call.endReason, "upstream-stalled");
    const update = await h.twilioApi.updates.waitFor(() => true, { what: "fallback redirect" });
    assert.match(update.twiml, /<Say>Sorry, something went wrong/);
    await client.closed;
  } finally {
    await h.close();
  }
});

Deno.test("MAX_CALL_SECONDS on the realtime path: a goodbye, then the REST hang-up", async () => {
  const clock = new FakeClock();
  // An agent without silence reminders, so the minute passes quietly.
  const agents = await Deno.makeTempDir();
  await Deno.mkdir(`${agents}/default`);
  await Deno.writeTextFile(
    `${agents}/default/agent.json`,
    '{"silence":{"reminderAfterSeconds":0}}',
  );
  await Deno.writeTextFile(`${agents}/default/instructions.md`, "Be brief.");
  const h = await startRealtime({
    clock,
    env: {
      AGENTS_DIR: agents,
      MAX_CALL_SECONDS: "60",
      TWILIO_IDLE_TIMEOUT_SECONDS: "3600",
      REALTIME_GREETING: "",
    },
    fake: { reply: FAST },
  });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    await session.events.waitFor((e) => e.type === "session.update", { what: "configured" });
    await waitUntil(() => h.logs("realtime.ready").length === 1, { what: "session ready" });
    clock.tick(60_000);
    const goodbye = await session.events.waitFor((e) => e.type === "response.create", {
      what: "the goodbye",
    });
    assert.match(JSON.stringify(goodbye), /time limit/);
    const update = await h.twilioApi.updates.waitFor(() => true, { what: "hang-up" });
    assert.match(update.twiml, /<Hangup\/>/);
    assert.equal(client.playedBytes(), client.receivedBytes, "the goodbye played in full first");
    assert.equal(limitHits(h, "max_call_seconds"), 1);
  } finally {
    await h.close();
    await Deno.remove(agents, { recursive: true });
  }
});

Deno.test("an oversized Twilio frame is dropped and counted; audio keeps flowing", async () => {
  const h = await startRealtime({
    env: { MAX_WS_MESSAGE_BYTES: "2048", REALTIME_GREETING: "" },
    fake: { mode: "echo" },
  });
  try {
    const client = await h.call();
    client.sendRaw(`{"event":"media","media":{"payload":"${"A".repeat(4000)}"}}`);
    client.media(callerFrame(7));
    await waitUntil(() => client.receivedBytes >= 160, { what: "echo" });
    assert.equal(limitHits(h, "max_message_bytes"), 1);
  } finally {
    await h.close();
  }
});

Deno.test("the echo-mode fake still answers response.create, as the real server does", async () => {
  const h = await startRealtime({ env: { REALTIME_GREETING: "" }, fake: { mode: "echo" } });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    await session.events.waitFor((e) => e.type === "session.update", { what: "configured" });
    client.dtmf("#");
    await session.events.waitFor((e) => e.type === "response.create", { what: "response.create" });
    // The default scripted reply: one second of audio, then response.done.
    await waitUntil(() => client.receivedBytes >= 8000, { what: "the reply's audio" });
    await waitUntil(() => session.sent.includes("response.done"), { what: "response.done" });
    assert.equal(session.errors.items.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("a second stream for the same call supersedes the first", async () => {
  const h = await startRealtime({ env: { REALTIME_GREETING: "" }, fake: { mode: "echo" } });
  try {
    const first = await h.call();
    await waitUntil(() => h.service.services.registry.size === 1, { what: "first started" });
    // Twilio opens a new stream for the same call (its TwiML ran again).
    const second = await h.call({ callSid: first.callSid });
    await first.closed;
    second.media(callerFrame(3));
    await waitUntil(() => second.receivedBytes >= 160, { what: "the second stream works" });
    assert.equal(h.service.services.registry.size, 1);
    await second.close();
  } finally {
    await h.close();
  }
});

Deno.test("garbage from OpenAI is logged (a few lines) and dropped; the call goes on", async () => {
  const h = await startRealtime({ env: { REALTIME_GREETING: "" }, fake: { mode: "echo" } });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    await session.events.waitFor((e) => e.type === "session.update", { what: "configured" });
    for (let i = 0; i < 500; i++) session.sendRaw(i % 2 ? "{oops" : '{"type":"made.up"}');
    client.media(callerFrame(5));
    await waitUntil(() => client.receivedBytes >= 160, { what: "audio still relayed" });
    const dropped = h.logs("realtime.frame_dropped");
    assert.ok(dropped.length >= 1 && dropped.length <= 12, `${dropped.length} log lines`);
  } finally {
    await h.close();
  }
});
