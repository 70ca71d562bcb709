/**
 * AgentVoice without sockets: what `response.create` carries (the agent's instructions first),
 * each 20 ms delta out as media + mark with the transcript line's audioMs following it, deltas
 * of a muted response dropped, and a barge-in — `clear`, then `conversation.item.truncate` at the
 * whole ms heard (floored), the line marked interrupted with that heardMs, its response muted —
 * with no truncate for an item of a replaced (or not ready) session and nothing when nothing
 * plays; and the latency recorded for a turn. Twilio's socket and the upstream session are
 * stubs that keep what they are sent; time is a FakeClock whose monotonic clock is set by hand.
 */

import assert from "node:assert/strict";
import { FakeClock } from "../../tests/helpers/fake_clock.ts";
import type { CallSocket } from "../calls/call_types.ts";
import { Logger } from "../platform/log.ts";
import type { CallRecorder } from "../records/call_recorder.ts";
import { AgentVoice } from "./agent_voice.ts";
import { CallTranscript } from "./call_transcript.ts";
import { TwilioStream } from "./twilio_stream.ts";
import type { UpstreamSession } from "./upstream_session.ts";

/** A FakeClock whose monotonic time (playout, latency) is set by the test too. */
class ManualClock extends FakeClock {
  mono = 0;
  override monotonic(): number {
    return this.mono;
  }
}

/** `ms` of µ-law silence (8 bytes a ms) as one base64 delta. */
const delta = (ms: number) => btoa("\xff".repeat(ms * 8));

function setup() {
  const clock = new ManualClock();
  const twilio: unknown[] = [];
  const socket: CallSocket = {
    readyState: WebSocket.OPEN,
    send: (data) => void twilio.push(JSON.parse(data)),
    close() {},
    addEventListener() {},
  };
  const openai: unknown[] = [];
  const upstream = {
    ready: true,
    session: 1,
    lastEventAt: 0,
    send: (frame: string) => void openai.push(JSON.parse(frame)),
  };
  const events: unknown[][] = [];
  const latencies: unknown[] = [];
  const recorder = {
    event: (...args: unknown[]) => void events.push(args),
    latency: (turn: unknown) => void latencies.push(turn),
    transcript() {},
  } as unknown as CallRecorder;
  const transcript = new CallTranscript(clock, () => null);
  const stats = { framesOut: 0, droppedDeltas: 0, bargeIns: 0, truncates: 0 };
  const voice = new AgentVoice({
    upstream: upstream as unknown as UpstreamSession,
    clock,
    transcript,
    stats,
    log: () => new Logger("error", {}, () => {}),
    record: () => recorder,
    instructions: () => "You are Ada, the front desk of Chez Léon.",
  });
  const stream = new TwilioStream(socket, "MZ0001", () => clock.mono);
  return { clock, twilio, upstream, openai, events, latencies, transcript, stats, voice, stream };
}

/** The name of a mark Twilio was sent. */
const markName = (message: unknown) => (message as { mark: { name: string } }).mark.name;

Deno.test("ask/say: response.create with the agent's instructions first, then the line", () => {
  const { openai, voice } = setup();
  voice.ask("Greet the caller.");
  assert.equal(voice.say("Goodbye."), true);
  voice.respond();
  assert.deepEqual(openai, [
    {
      type: "response.create",
      response: { instructions: "You are Ada, the front desk of Chez Léon.\n\nGreet the caller." },
    },
    {
      type: "response.create",
      response: {
        instructions: "You are Ada, the front desk of Chez Léon.\n\n" +
          'Say exactly this to the caller, and nothing else: "Goodbye."',
      },
    },
    { type: "response.create" },
  ]);
});

Deno.test("say while the session is not ready: false, nothing sent", () => {
  const { openai, upstream, voice } = setup();
  upstream.ready = false;
  assert.equal(voice.say("Goodbye."), false);
  assert.deepEqual(openai, []);
});

Deno.test("respond: a busy spell's first request restarts the stall clock, later ones not", () => {
  const { clock, upstream, voice } = setup();
  const t0 = clock.now();
  voice.respond();
  assert.equal(upstream.lastEventAt, t0);
  clock.tick(4000);
  voice.respond(); // one is already on its way
  assert.equal(upstream.lastEventAt, t0);
});

Deno.test("audio: each 20 ms delta out as media + mark; the line's audioMs follows it", () => {
  const { twilio, transcript, stats, voice, stream } = setup();
  voice.attach(stream);
  voice.audio("resp_1", "item_a", delta(20));
  voice.audio("resp_1", "item_a", delta(20));
  assert.equal(twilio.length, 4);
  assert.deepEqual(twilio[0], {
    event: "media",
    streamSid: "MZ0001",
    media: { payload: delta(20) },
  });
  assert.deepEqual([markName(twilio[1]), markName(twilio[3])], ["0:item_a:20", "0:item_a:40"]);
  assert.equal(stats.framesOut, 2);
  assert.equal(transcript.item("item_a")?.audioMs, 40);
  assert.equal(voice.playing, true);
});

Deno.test("audio of a muted response, or before the stream started, is dropped and counted", () => {
  const { twilio, stats, voice, stream } = setup();
  voice.audio("resp_1", "item_a", delta(20)); // no stream yet
  voice.attach(stream);
  voice.responses.mute("resp_1");
  voice.audio("resp_1", "item_a", delta(20));
  assert.deepEqual(twilio, []);
  assert.deepEqual(stats, { framesOut: 0, droppedDeltas: 2, bargeIns: 0, truncates: 0 });
});

Deno.test("barge-in: clear, truncate at the whole ms heard, line interrupted, audio muted", () => {
  const { clock, twilio, openai, events, transcript, stats, voice, stream } = setup();
  voice.attach(stream);
  clock.mono = 1000;
  voice.responses.created("resp_1", clock.now());
  for (let i = 0; i < 3; i++) voice.audio("resp_1", "item_a", delta(20)); // plays 1000–1060
  clock.mono = 1020;
  assert.equal(stream.mark(markName(twilio[1])), "playing");
  // 27.5 ms into chunk 2 (1020–1040) then chunk 3: 20 + 20 + 7.5 = 47.5 ms heard.
  clock.mono = 1047.5;
  voice.interrupt("speech");
  assert.deepEqual(twilio[6], { event: "clear", streamSid: "MZ0001" });
  assert.deepEqual(openai, [
    { type: "conversation.item.truncate", item_id: "item_a", content_index: 0, audio_end_ms: 47 },
  ]);
  const line = transcript.item("item_a");
  assert.deepEqual([line?.interrupted, line?.heardMs, line?.audioMs], [true, 47, 60]);
  assert.deepEqual(events, [
    ["barge_in", "caller cut in after 47 ms of audio", { cause: "speech", audioEndMs: 47 }],
  ]);
  assert.equal(voice.playing, false);
  // What resp_1 still sends is dropped.
  voice.audio("resp_1", "item_a", delta(20));
  assert.equal(twilio.length, 7);
  assert.deepEqual(stats, { framesOut: 3, droppedDeltas: 1, bargeIns: 1, truncates: 1 });
});

Deno.test("barge-in with nothing playing: no clear, no truncate, nothing counted", () => {
  const { clock, twilio, openai, stats, voice, stream } = setup();
  voice.interrupt("speech"); // no stream yet
  voice.attach(stream);
  voice.interrupt("dtmf");
  voice.audio("resp_1", "item_a", delta(20));
  clock.mono = 20;
  assert.equal(stream.mark(markName(twilio[1])), "drained");
  voice.interrupt("speech"); // all of it was heard
  assert.equal(twilio.length, 2);
  assert.deepEqual(openai, []);
  assert.deepEqual(stats, { framesOut: 1, droppedDeltas: 0, bargeIns: 0, truncates: 0 });
});

Deno.test("barge-in on an item of a replaced or unready session: clear, but no truncate", () => {
  for (const change of ["replaced", "not ready"]) {
    const { clock, twilio, openai, upstream, transcript, stats, voice, stream } = setup();
    voice.attach(stream);
    voice.audio("resp_1", "item_a", delta(20));
    if (change === "replaced") upstream.session = 2; // item_a's id is gone with session 1
    else upstream.ready = false;
    clock.mono = 12.9;
    voice.interrupt("speech");
    assert.deepEqual(twilio[2], { event: "clear", streamSid: "MZ0001" }, change);
    assert.deepEqual(openai, [], change);
    assert.equal(transcript.item("item_a")?.heardMs, 12, change);
    assert.deepEqual([stats.bargeIns, stats.truncates], [1, 0], change);
  }
});

Deno.test("done: the turn's latency recorded in whole ms, with its usage and outcome", () => {
  const { clock, latencies, voice, stream } = setup();
  voice.attach(stream);
  clock.mono = 100;
  voice.respond();
  const startedAt = clock.now();
  voice.responses.created("resp_1", startedAt);
  clock.mono = 350.26;
  voice.audio("resp_1", "item_a", delta(20));
  const usage = { inputTokens: 120, outputTokens: 45, totalTokens: 165 };
  assert.equal(voice.done("resp_1", "completed", usage)?.latencyMs, 250.3);
  assert.deepEqual(latencies, [
    { latencyMs: 250, inputTokens: 120, outputTokens: 45, outcome: "completed", at: startedAt },
  ]);
});
