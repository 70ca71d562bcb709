/**
 * GPT-Live on the Media Streams path (`engine: "live"`), over real sockets: the real `openai`
 * SDK's `LiveWS` against the fake Live server (so the fake follows the SDK), in its echo mode too
 * (the benchmark's: paced as Live paces), its usage the seconds of audio it sent; a call whose
 * session starts with µ-law passed through, the agent's instructions, voice and tools (by
 * delegation); a delegated tool call run from the agent's tool set and answered; transcripts,
 * latency and usage in the record; a barge-in that clears Twilio with little audio queued;
 * `end_call`, whose hang-up waits until the goodbye (paced in real time, so Twilio's queue runs
 * dry between its deltas) has been played out at Twilio; the engine chosen per agent over
 * `OPENAI_VOICE_ENGINE`.
 */

import assert from "node:assert/strict";
import OpenAI from "openai";
import { LiveWS } from "openai/resources/live/ws";
import type { AudioFormat, ServerEvent } from "openai/resources/live/live";
import type { RealtimeCall } from "../lib/realtime/realtime_call.ts";
import { MAX_QUEUED_MS } from "../lib/realtime/live_voice.ts";
import { waitUntil } from "./fakes/event_log.ts";
import { FakeLive, type FakeLiveSession } from "./fakes/fake_live.ts";
import { FakeRealtime } from "./fakes/fake_realtime.ts";
import { callerFrame, type RealtimeHarness, startRealtime } from "./helpers/realtime_harness.ts";
import { eventually } from "./helpers/relay_harness.ts";

/** The service with the fake Live API beside the fake Realtime one. */
async function startLive(env: Record<string, string> = {}) {
  const h = await startRealtime({ env: { OPENAI_VOICE_ENGINE: "live", ...env } });
  const live = new FakeLive({ audioMs: 300, deltaMs: 100, speed: 4 });
  h.fake.live = live;
  return { h, live };
}

function bridgeOf(h: RealtimeHarness): RealtimeCall {
  return h.service.services.registry.list()[0] as RealtimeCall;
}

/** A started call to `agent`, its Live session and the greeting's commentary. */
async function liveCall(h: RealtimeHarness, live: FakeLive, agent: string) {
  const client = await h.call({ start: false });
  await h.start(client, { agent, from: "+15550100123", to: "+15550100999" });
  const session = await live.session();
  await session.events.waitFor((e) => e.type === "session.commentary.append", { what: "greeting" });
  return { client, session };
}

function assertNoErrors(session: FakeLiveSession): void {
  assert.deepEqual(session.errors.items, [], "the fake Live API refused nothing");
}

Deno.test("fake Live: the real SDK's LiveWS starts a session, appends audio and closes it", async () => {
  const { h, live } = await startLive();
  try {
    const baseURL = h.service.services.config.openai.baseUrl;
    const client = new OpenAI({ apiKey: "sk-test-realtime", baseURL });
    const ws = new LiveWS(client);
    const events: ServerEvent[] = [];
    ws.on("event", (event) => events.push(event));
    const started = new Promise<string>((resolve) => {
      ws.on("session.started", (event) => resolve(event.session.id));
    });
    const closed = new Promise<string>((resolve) => {
      ws.on("session.closed", (event) => resolve(event.reason));
    });
    ws.socket.on("open", () => {
      ws.send({
        type: "session.start",
        event_id: "event_start",
        session: {
          model: "gpt-live-1",
          instructions: "Be brief.",
          audio: { format: { type: "audio/pcmu", rate: 8000 }, output: { voice: "marin" } },
          delegation: { type: "client" },
        },
      });
    });
    const id = await started;
    ws.send({ type: "session.input_audio.append", audio: callerFrame(1) });
    ws.send({ type: "session.close" });
    assert.equal(await closed, "close_requested");
    const session = await live.session();
    assert.equal(id, session.id);
    assert.deepEqual(session.audio, [callerFrame(1)]);
    assertNoErrors(session);
    assert.ok(events.some((e) => e.type === "session.started"));
    ws.close();
  } finally {
    await h.close();
  }
});

Deno.test("fake Live echo: the SDK's LiveWS gets its audio back, paced, in order", async () => {
  const fake = new FakeRealtime();
  const live = new FakeLive({}, { mode: "echo" });
  fake.live = live;
  const baseURL = fake.start();
  try {
    const ws = new LiveWS(new OpenAI({ apiKey: "sk-test-echo", baseURL }));
    const deltas: { delta: string; at: number }[] = [];
    ws.on("session.output_audio.delta", (event) => {
      deltas.push({ delta: event.delta, at: performance.now() });
    });
    const started = new Promise<void>((resolve) => ws.on("session.started", () => resolve()));
    ws.socket.on("open", () => {
      ws.send({
        type: "session.start",
        session: { model: "gpt-live-1", audio: { format: { type: "audio/pcmu", rate: 8000 } } },
      });
    });
    await started;
    // 600 ms of audio at once, at the turn's start: it comes back over about its own length.
    const frames = Array.from({ length: 30 }, (_, i) => callerFrame(i + 1));
    for (const audio of frames) ws.send({ type: "session.input_audio.append", audio });
    await waitUntil(() => deltas.length === frames.length, { what: "every frame echoed" });
    assert.deepEqual(deltas.map((d) => d.delta), frames, "in delivery order, unchanged");
    const spread = deltas.at(-1)!.at - deltas[0].at;
    const earliest = 29 * 20 - live.echoLeadMs;
    assert.ok(spread >= earliest - 10, `paced: ${spread.toFixed(1)} ms ≥ ${earliest} ms`);
    const session = await live.session();
    assertNoErrors(session);
    assert.equal(session.audio.length, 0, "echoed appends are not kept");
    ws.close();
  } finally {
    await fake.close();
  }
});

Deno.test("fake Live: usage counts the seconds of audio sent, in the session's format", async () => {
  const fake = new FakeRealtime();
  const live = new FakeLive({ audioMs: 300, deltaMs: 100, speed: 4 });
  fake.live = live;
  const baseURL = fake.start();
  /** Opens a session in `format`, has the model say 300 ms of µ-law bytes, and closes it. */
  const usageOf = async (format: AudioFormat, index: number) => {
    const ws = new LiveWS(new OpenAI({ apiKey: "sk-test-usage", baseURL }));
    const updated = new Promise<number>((resolve) => {
      ws.on("session.usage.updated", (event) => resolve(event.usage.seconds));
    });
    const closed = new Promise<number>((resolve) => {
      ws.on("session.closed", (event) => resolve(event.usage.seconds));
    });
    const started = new Promise<void>((resolve) => ws.on("session.started", () => resolve()));
    ws.socket.on("open", () => {
      ws.send({ type: "session.start", session: { model: "gpt-live-1", audio: { format } } });
    });
    await started;
    (await live.session(index)).speak();
    const afterSpeech = await updated;
    ws.send({ type: "session.close" });
    const atClose = await closed;
    ws.close();
    return { afterSpeech, atClose };
  };
  try {
    // 2400 bytes: 300 ms of µ-law at 8 kHz, 50 ms of PCM16 at 24 kHz.
    assert.deepEqual(await usageOf({ type: "audio/pcmu", rate: 8000 }, 0), {
      afterSpeech: 0.3,
      atClose: 0.3,
    });
    assert.deepEqual(await usageOf({ type: "audio/pcm", rate: 24000 }, 1), {
      afterSpeech: 0.05,
      atClose: 0.05,
    });
  } finally {
    await fake.close();
  }
});

Deno.test("live call: session.start carries µ-law, the agent's instructions, voice and tools", async () => {
  const { h, live } = await startLive();
  try {
    const { client, session } = await liveCall(h, live, "appointments");
    const config = session.config as {
      model: string;
      instructions: string;
      audio: { format: { type: string; rate: number }; output: { voice: string } };
      delegation: { type: string; responses: { model: string; tools: { name: string }[] } };
    };
    assert.equal(config.model, "gpt-live-1");
    assert.deepEqual(config.audio, {
      format: { type: "audio/pcmu", rate: 8000 },
      output: { voice: "coral" },
    });
    assert.match(config.instructions, /Bright Smile Dental/);
    assert.match(config.instructions, /caller's number is \+15550100123/);
    assert.equal(config.delegation.type, "responses");
    assert.ok(config.delegation.responses.tools.some((t) => t.name === "find_slots"));
    // The profile's greeting, said as the agent (Live's instructions hold for the whole session).
    const greeting = session.of("session.commentary.append")[0];
    assert.match(String(greeting.content), /Say exactly this.*Bright Smile/s);
    // µ-law passes through untouched, both ways.
    client.media(callerFrame(7));
    await waitUntil(() => session.audio.includes(callerFrame(7)), { what: "caller audio" });
    await client.received.waitFor((r) => r.event === "media", { what: "agent audio" });
    await waitUntil(() => client.audio.length >= session.sent.length && session.sent.length > 0, {
      what: "every delta relayed",
    });
    assert.equal(client.audio.join(""), session.sent.join(""));
    assertNoErrors(session);
  } finally {
    await h.close();
  }
});

Deno.test("live call: a delegated tool runs from the agent's tools; transcript, latency, usage recorded", async () => {
  const { h, live } = await startLive();
  try {
    const { client, session } = await liveCall(h, live, "appointments");
    const bridge = bridgeOf(h);
    await waitUntil(() => !session.speaking && !bridge.playing, { what: "greeting heard" });
    session.callerSays("Is Tuesday free?");
    session.delegate(
      [{ name: "find_slots", arguments: JSON.stringify({ date: "2030-03-05" }) }],
      { transcript: "Tuesday has slots at nine." },
    );
    const output = await session.events.waitFor((e) => e.type === "response.item.create", {
      what: "the tool's output",
    });
    const item = output.item as { type: string; call_id: string; output: string };
    assert.equal(item.type, "function_call_output");
    assert.equal(item.call_id, "call_1_0");
    assert.match(item.output, /2030-03-05T09:00/);
    await session.events.waitFor((e) => e.type === "response.create", { what: "continued" });
    await waitUntil(() => bridge.transcript.some((t) => t.text.includes("slots at nine")), {
      what: "the answer's transcript",
    });
    assert.equal(bridge.toolEvents.length, 1);
    assert.equal(bridge.toolEvents[0].ok, true);
    await waitUntil(() => !session.speaking && !bridge.playing, { what: "answer heard" });
    const recordId = bridge.id;
    await client.disconnect();
    const store = h.service.services.records.store;
    await eventually(async () => (await store.getRecord(recordId))?.outcome !== "live", "record");
    const detail = await store.getDetail(recordId);
    assert.ok(detail, "the call was recorded");
    const texts = detail.transcript.map((t) => `${t.role}: ${t.text}`);
    assert.ok(texts.includes("caller: Is Tuesday free?"), texts.join(" | "));
    assert.ok(texts.some((t) => /^agent: Tuesday has slots at nine\.$/.test(t)), texts.join(" | "));
    assert.equal(detail.record.model?.model, "gpt-live-1");
    assert.ok(detail.events.some((e) => e.type === "tool" && e.data?.name === "find_slots"));
    // Latency of the answer: the caller's words → its first audio out.
    const measured = detail.latencies.filter((l) => l.latencyMs !== null);
    assert.ok(measured.length >= 2, "the greeting and the answer are timed");
    // The delegated Responses usage counts as tokens.
    assert.equal(detail.record.inputTokens, 320);
    assert.equal(detail.record.outputTokens, 70);
    assert.ok(detail.events.some((e) => e.type === "status" && e.data?.liveAudioSeconds));
    assertNoErrors(session);
  } finally {
    await h.close();
  }
});

Deno.test("live call: a barge-in clears Twilio, with at most MAX_QUEUED_MS and a frame queued there", async () => {
  const { h, live } = await startLive();
  // Faster than real time: the bridge, not the fake's pacing, keeps Twilio's buffer shallow.
  live.speech = { audioMs: 3000, deltaMs: 100, speed: 10, transcript: "A long story begins." };
  try {
    const { client, session } = await liveCall(h, live, "default");
    const bridge = bridgeOf(h);
    await client.received.waitFor((r) => r.event === "media", { what: "agent audio" });
    await waitUntil(() => !session.speaking, { what: "the fake sent its whole greeting" });
    assert.ok(bridge.playing, "Twilio still has the greeting to play");
    const received = client.receivedBytes;
    assert.ok(received < 3000 * 8, `the bridge held audio back (${received} of 24000 bytes out)`);
    session.callerSays("Wait!");
    await client.clears.waitFor(() => true, { what: "clear" });
    assert.equal(bridge.stats.bargeIns, 1);
    const entry = bridge.transcript.find((t) => t.role === "agent")!;
    assert.equal(entry.interrupted, true);
    assert.ok(entry.heardMs! < 3000, `heard ${entry.heardMs} ms of 3000`);
    // What the bridge reckoned queued at Twilio when the caller cut in: the cap (a 100 ms delta
    // that did not fit went out in parts), and up to a frame (20 ms) more: a mark echoed late
    // moves the end of the audio before it (the tracker's lastAckAt) later, and with it the
    // reckoned end of everything queued behind it.
    const queued = h.logs("live.barge_in")[0].queuedMs as number;
    assert.ok(queued <= MAX_QUEUED_MS + 20, `${queued} ms queued`);
    // Twilio's own queue never held more (a frame's slack for the trip): deltas were cut to fit.
    assert.ok(client.maxQueuedMs <= MAX_QUEUED_MS + 20, `${client.maxQueuedMs} ms at most`);
    assert.ok(!bridge.playing, "nothing plays after the clear");
    assertNoErrors(session);
  } finally {
    await h.close();
  }
});

Deno.test("live call: end_call hangs up once the goodbye has played out at Twilio", async () => {
  const { h, live } = await startLive();
  try {
    const { client, session } = await liveCall(h, live, "default");
    const bridge = bridgeOf(h);
    await waitUntil(() => !session.speaking && !bridge.playing, { what: "greeting heard" });
    session.callerSays("That's all, bye.");
    // The goodbye comes after the delegation has completed, paced in real time in 100 ms deltas:
    // Twilio's shallow queue runs dry between them, which is no end of the goodbye.
    session.delegate([{ name: "end_call", arguments: "{}" }], {
      audioMs: 800,
      deltaMs: 100,
      speed: 1,
      transcript: "Goodbye, and thanks for calling.",
    });
    const sentBefore = session.sent.length;
    const update = await h.twilioApi.updates.waitFor((u) => u.callSid === client.callSid, {
      what: "hang-up",
      timeoutMs: 10_000,
    });
    assert.match(update.twiml, /<Response><Hangup\/><\/Response>/);
    await client.closed;
    // Every delta of the goodbye reached Twilio, in order, and was the last audio it got …
    const goodbye = session.sent.slice(sentBefore);
    assert.equal(goodbye.length, 8, "the fake sent the whole goodbye");
    assert.equal(client.audio.slice(-goodbye.length).join(""), goodbye.join(""));
    // … its last mark came after the last media and was echoed (played) before the stream ended.
    const events = client.received.items.map((r) => r.event);
    assert.equal(events.lastIndexOf("mark"), events.lastIndexOf("media") + 1, events.join(","));
    const lastMark = (client.received.items.at(-1)!.mark as { name: string }).name;
    assert.equal(client.echoes.items.at(-1), lastMark, "the goodbye's last mark acknowledged");
    assert.equal(client.playedBytes(), client.receivedBytes, "all of it played");
    const said = bridge.transcript.filter((e) => e.role === "agent").map((e) => e.text);
    assert.equal(said.at(-1), "Goodbye, and thanks for calling.");
    assert.deepEqual(h.logs("call.end").map((l) => l.reason), ["agent-ended"]);
    assert.ok(bridge.toolEvents.some((e) => e.name === "end_call" && e.ok));
    assertNoErrors(session);
  } finally {
    await h.close();
  }
});

Deno.test("live engine: an agent's engine wins over OPENAI_VOICE_ENGINE, held audio moved over", async () => {
  const dir = await Deno.makeTempDir();
  for (const [name, agent] of [["default", {}], ["spoken", { engine: "live" }]] as const) {
    await Deno.mkdir(`${dir}/${name}`);
    await Deno.writeTextFile(`${dir}/${name}/agent.json`, JSON.stringify(agent));
    await Deno.writeTextFile(`${dir}/${name}/instructions.md`, `You are ${name}.`);
  }
  const { h, live } = await startLive({ OPENAI_VOICE_ENGINE: "realtime", AGENTS_DIR: dir });
  try {
    // The default agent names no engine: OPENAI_VOICE_ENGINE's (Realtime).
    const plain = await h.call({ start: false });
    await h.start(plain, { agent: "default" });
    await h.fake.session();
    await waitUntil(() => bridgeOf(h).context !== null, { what: "the default agent" });
    assert.equal(live.sessions.items.length, 0);
    await plain.disconnect();
    await waitUntil(() => h.service.services.registry.list().length === 0, { what: "ended" });
    // `engine: "live"`: the Realtime socket opened before the agent was known is replaced.
    const client = await h.call({ start: false });
    await h.start(client, { agent: "spoken" });
    client.media(callerFrame(3));
    const session = await live.session();
    await waitUntil(() => session.audio.includes(callerFrame(3)), { what: "held audio" });
    assert.match(String(session.config?.instructions), /You are spoken/);
    assert.equal(h.logs("realtime.engine_switch").length, 1);
    assertNoErrors(session);
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("live: a session that goes quiet while it owes the greeting gets the fallback, not silence", async () => {
  const { h, live } = await startLive({ OPENAI_TIMEOUT_MS: "300" });
  try {
    live.stallAnswers = true;
    const { client } = await liveCall(h, live, "default");
    // The greeting was asked for and nothing comes back: the watchdog's stall.
    const update = await h.twilioApi.updates.waitFor((u) => u.callSid === client.callSid, {
      what: "fallback redirect",
    });
    assert.match(update.twiml, /<Say>Sorry, something went wrong/);
    await client.closed;
    assert.equal(h.logs("realtime.stalled").length, 1);
    const store = h.service.services.records.store;
    await eventually(
      async () => ((await store.findBySid(client.callSid))[0]?.outcome ?? "live") !== "live",
      "record completed",
    );
    const [record] = await store.findBySid(client.callSid);
    assert.equal(record.outcome, "upstream-stalled");
  } finally {
    await h.close();
  }
});

Deno.test("live: a session the server ends (its time limit) ends the call for that reason", async () => {
  const { h, live } = await startLive();
  try {
    const { client, session } = await liveCall(h, live, "default");
    session.end("expired");
    const update = await h.twilioApi.updates.waitFor((u) => u.callSid === client.callSid, {
      what: "fallback redirect",
    });
    assert.match(update.twiml, /<Say>Sorry, something went wrong/);
    await client.closed;
    const store = h.service.services.records.store;
    await eventually(
      async () => ((await store.findBySid(client.callSid))[0]?.outcome ?? "live") !== "live",
      "record completed",
    );
    const [record] = await store.findBySid(client.callSid);
    assert.equal(record.outcome, "openai-expired");
  } finally {
    await h.close();
  }
});
