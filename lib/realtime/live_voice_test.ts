/**
 * LiveVoice's turn without sockets: an answer asked for keeps the turn open until its audio
 * comes, or for at most ANSWER_WAIT_MS; audio keeps it open until none came for TURN_QUIET_MS
 * (a gap in Live's paced output is no end of the turn), and the call is told when it closes by
 * itself; a barge-in closes it at once; no timer is left once stopped. And Twilio's queue kept
 * under MAX_QUEUED_MS whatever the deltas' length: a long one is cut to the room left, its rest
 * sent as Twilio plays (by the clock, not only as its marks echo). Twilio's socket and the Live session are stubs; time is a FakeClock
 * whose monotonic time (Twilio's playout) the test sets.
 */

import assert from "node:assert/strict";
import { FakeClock } from "../../tests/helpers/fake_clock.ts";
import type { CallSocket } from "../calls/call_types.ts";
import { Logger } from "../platform/log.ts";
import type { CallRecorder } from "../records/call_recorder.ts";
import { CallTranscript } from "./call_transcript.ts";
import type { LiveSession } from "./live_session.ts";
import { ANSWER_WAIT_MS, LiveVoice, MAX_QUEUED_MS, TURN_QUIET_MS } from "./live_voice.ts";
import { TwilioStream } from "./twilio_stream.ts";

/** `ms` of µ-law silence (8 bytes a ms) as one base64 delta. */
const delta = (ms: number) => btoa("\xff".repeat(ms * 8));

/** A FakeClock whose monotonic time (Twilio's playout) is set by the test too. */
class ManualClock extends FakeClock {
  mono = 0;
  override monotonic(): number {
    return this.mono;
  }
}

/** What the voice wrote to the call's record. */
interface Recorded {
  latencies: { latencyMs: number | null; outcome: string }[];
  events: { type: string; summary: string; data: Record<string, unknown> }[];
}

function setup(options: { ready?: boolean; attach?: boolean } = {}) {
  const recorded: Recorded = { latencies: [], events: [] };
  const record = {
    latency: (l: { latencyMs: number | null; outcome: string }) =>
      void recorded.latencies.push({ latencyMs: l.latencyMs, outcome: l.outcome }),
    event: (type: string, summary: string, data: Record<string, unknown>) =>
      void recorded.events.push({ type, summary, data }),
  };
  const clock = new ManualClock();
  const media: number[] = [];
  const socket: CallSocket = {
    readyState: WebSocket.OPEN,
    send(data) {
      const message = JSON.parse(data);
      if (message.event === "media") media.push(atob(message.media.payload).length);
    },
    close() {},
    addEventListener() {},
  };
  const sent: string[] = [];
  const upstream = {
    ready: options.ready ?? true,
    session: 1,
    send: (frame: string) => void sent.push(frame),
  };
  let closed = 0;
  const transcript = new CallTranscript(clock, () => null);
  const stats = { framesOut: 0, droppedDeltas: 0, bargeIns: 0, truncates: 0 };
  const voice = new LiveVoice({
    upstream: upstream as unknown as LiveSession,
    clock,
    transcript,
    stats,
    log: () => new Logger("error", {}, () => {}),
    record: () => record as unknown as CallRecorder,
    turnClosed: () => void closed++,
  });
  if (options.attach ?? true) {
    voice.attach(new TwilioStream(socket, "MZ1", () => clock.monotonic()));
  }
  return { clock, voice, sent, media, closed: () => closed, recorded, transcript, stats };
}

Deno.test("live voice: an answer asked for keeps the turn open, at most ANSWER_WAIT_MS", () => {
  const { clock, voice, sent, closed } = setup();
  assert.equal(voice.turnOpen, false, "nothing asked, nothing open");
  assert.equal(voice.say("Goodbye."), true);
  assert.equal(sent.length, 1, "the commentary went out");
  assert.equal(voice.turnOpen, true);
  clock.tick(ANSWER_WAIT_MS - 1);
  assert.equal(voice.turnOpen, true, "still waiting for the answer's audio");
  assert.equal(closed(), 0);
  clock.tick(1);
  assert.equal(closed(), 1, "the call is told the wait is over");
  assert.equal(voice.turnOpen, false);
  assert.equal(clock.pending, 0);
});

Deno.test("live voice: an answer asked for is owed until its audio comes, or the caller speaks", () => {
  const { clock, voice } = setup();
  assert.deepEqual(voice.responses, { owed: false, busy: false, turns: [] });
  voice.say("Hello.");
  assert.equal(voice.responses.owed, true);
  // The turn stops waiting, but the answer is still owed: the watchdog judges the session.
  clock.tick(ANSWER_WAIT_MS);
  assert.equal(voice.turnOpen, false);
  assert.equal(voice.responses.owed, true);
  voice.audio(delta(20));
  assert.equal(voice.responses.owed, false, "its audio came");
  assert.equal(voice.responses.turns.length, 1);
  voice.say("Anything else?");
  assert.equal(voice.responses.owed, true);
  voice.callerSpoke();
  assert.equal(voice.responses.owed, false, "the caller spoke first: Live answers that");
  assert.equal(voice.responses.busy, false);
  voice.stop();
});

Deno.test("live voice: audio keeps the turn open until TURN_QUIET_MS without any", () => {
  const { clock, voice, closed } = setup();
  voice.expect();
  voice.audio(delta(100));
  assert.equal(voice.turnOpen, true, "the answer has begun");
  clock.tick(TURN_QUIET_MS - 100);
  // A gap in the paced output: more audio comes, the quiet counts again from it.
  voice.audio(delta(100));
  clock.tick(150);
  // The timer armed at the first delta told the call; the turn is still open, from the second.
  assert.equal(closed(), 1);
  assert.equal(voice.turnOpen, true);
  clock.tick(TURN_QUIET_MS - 150 - 1);
  assert.equal(closed(), 1);
  clock.tick(1);
  assert.equal(closed(), 2, "quiet since the last delta: the turn closed by itself");
  assert.equal(voice.turnOpen, false);
  assert.equal(clock.pending, 0, "no timer left");
});

Deno.test("live voice: a barge-in closes the turn; stop leaves no timer", () => {
  const { clock, voice, closed } = setup();
  voice.expect();
  voice.audio(delta(100));
  assert.equal(voice.turnOpen, true);
  voice.interrupt("speech");
  assert.equal(voice.turnOpen, false, "the caller cut in: the turn is over");
  assert.equal(clock.pending, 0);
  voice.say("Are you there?");
  voice.audio(delta(100));
  assert.equal(voice.turnOpen, true);
  voice.stop();
  assert.equal(clock.pending, 0, "stopped: no timer left");
  clock.tick(ANSWER_WAIT_MS + TURN_QUIET_MS);
  assert.equal(closed(), 0);
});

Deno.test("live voice: a delta past the room left is cut; its rest goes as Twilio plays", () => {
  const { clock, voice, media } = setup();
  voice.audio(delta(300));
  // 200 ms of it in whole base64 groups (1599 of 1600 bytes), the rest held.
  assert.deepEqual(media, [Math.floor((MAX_QUEUED_MS * 8) / 3) * 3]);
  assert.equal(voice.playing, true);
  voice.audio(delta(20));
  assert.equal(media.length, 1, "held behind the rest");
  clock.mono = 10;
  voice.played();
  assert.equal(media.length, 1, "less than a frame of room: nothing yet");
  clock.mono = 20;
  voice.played();
  assert.equal(media.length, 1, "the room rounds down (whole base64 groups) to under a frame");
  clock.mono = 100;
  voice.played();
  // 100 ms played: as much of the rest as fits in the room (whole groups of 3 bytes).
  const queuedMs = media[0] / 8 - 100;
  assert.deepEqual(media.slice(1), [Math.floor(((MAX_QUEUED_MS - queuedMs) * 8) / 3) * 3]);
  clock.mono = 400;
  voice.played();
  const total = media.reduce((a, b) => a + b, 0);
  assert.equal(total, 320 * 8, "every byte went out, in order, none twice");
  assert.equal(media.at(-1), 160, "the 20 ms frame went whole, never split");
});

Deno.test("live voice: a 20 ms frame that does not fit waits whole for the room", () => {
  const { clock, voice, media } = setup();
  for (let i = 0; i < 10; i++) voice.audio(delta(20));
  assert.equal(media.length, 10, "200 ms fit");
  voice.audio(delta(20));
  clock.mono = 19;
  voice.played();
  assert.equal(media.length, 10, "19 ms of room: the frame is not split");
  clock.mono = 20;
  voice.played();
  assert.deepEqual(media.slice(10), [160]);
});

Deno.test("live voice: held audio goes out as Twilio plays it, even when its echoes are late", () => {
  const { clock, voice, media } = setup();
  for (let i = 0; i < 12; i++) voice.audio(delta(20));
  assert.equal(media.length, 10, "200 ms out, 40 ms held");
  // No mark echoes at all: Twilio plays in real time, so the room opens with time.
  clock.mono = 20;
  clock.tick(20);
  assert.equal(media.length, 11, "a frame went once a frame had played");
  clock.mono = 40;
  clock.tick(20);
  assert.equal(media.length, 12);
  assert.equal(clock.pending, 0, "nothing held, no timer left");
  // A barge-in drops what is held and its timer.
  voice.audio(delta(20));
  assert.equal(clock.pending, 1);
  voice.interrupt("speech");
  assert.equal(clock.pending, 0);
});

Deno.test("live voice: a turn per answer, its latency from the caller's words, recorded", () => {
  const { clock, voice, recorded, transcript, stats } = setup();
  clock.mono = 100;
  voice.callerSpoke();
  clock.mono = 350;
  voice.audio(delta(20));
  voice.spoken("Hi ");
  voice.spoken("there.");
  assert.deepEqual(voice.turns.map((t) => [t.responseId, t.latencyMs, t.status]), [
    ["live-agent-1", 250, "completed"],
  ]);
  assert.deepEqual(recorded.latencies, [{ latencyMs: 250, outcome: "completed" }]);
  assert.deepEqual(transcript.entries.map((e) => [e.role, e.text, e.itemId]), [
    ["agent", "Hi there.", "live-agent-1"],
  ]);
  assert.ok(stats.framesOut > 0, "the delta went to Twilio");
  assert.ok(voice.maxQueuedMs >= 19, `queued ${voice.maxQueuedMs} ms`);
  // Audio the bridge did not ask for (Live's own turn) has no latency to count.
  clock.tick(TURN_QUIET_MS);
  voice.interrupt("speech");
  clock.mono = 10_000;
  voice.spoken("More.");
  assert.deepEqual(voice.turns.map((t) => [t.responseId, t.latencyMs]), [
    ["live-agent-1", 250],
    ["live-agent-2", null],
  ]);
  assert.deepEqual(recorded.latencies.at(-1), { latencyMs: null, outcome: "completed" });
  voice.stop();
});

Deno.test("live voice: a barge-in while Twilio plays is counted, recorded with what was heard", () => {
  const { clock, voice, recorded, transcript, stats } = setup();
  voice.callerSpoke();
  voice.audio(delta(100));
  clock.mono = 40; // Twilio has played 40 ms of it.
  voice.interrupt("speech_started");
  assert.equal(stats.bargeIns, 1);
  assert.equal(voice.queuedAtBargeIn.length, 1);
  assert.ok(voice.queuedAtBargeIn[0] > 40 && voice.queuedAtBargeIn[0] <= 100);
  const [event] = recorded.events;
  assert.equal(event.type, "barge_in");
  const heard = event.data.audioEndMs as number;
  assert.ok(heard >= 0 && heard <= 100, `heard ${heard} ms`);
  assert.equal(event.summary, `caller cut in after ${heard} ms of audio`);
  assert.deepEqual(event.data, {
    cause: "speech_started",
    audioEndMs: heard,
    queuedMs: voice.queuedAtBargeIn[0],
  });
  assert.equal(transcript.entries[0].interrupted, true);
  assert.equal(transcript.entries[0].heardMs, heard);
  assert.equal(voice.playing, false);
  // Nothing plays any more: a second cut-in does nothing.
  voice.interrupt("speech_started");
  assert.equal(stats.bargeIns, 1);
  assert.equal(recorded.events.length, 1);
  voice.stop();
});

Deno.test("live voice: no stream yet drops the delta; no session yet says nothing", () => {
  const early = setup({ attach: false });
  early.voice.audio(delta(20));
  assert.equal(early.stats.droppedDeltas, 1);
  assert.equal(early.voice.turns.length, 0);
  const offline = setup({ ready: false });
  assert.equal(offline.voice.say("Hello."), false);
  assert.deepEqual(offline.sent, []);
  assert.equal(offline.voice.responses.owed, false);
  const online = setup();
  assert.equal(online.voice.say("Hello."), true);
  assert.match(
    JSON.parse(online.sent[0]).content,
    /^Say exactly this to the caller, and nothing else: "Hello\."$/,
  );
  online.voice.stop();
});
