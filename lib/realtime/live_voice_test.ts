/**
 * LiveVoice's turn without sockets: an answer asked for keeps the turn open until its audio
 * comes, or for at most ANSWER_WAIT_MS (5 s); audio keeps it open until none came for
 * TURN_QUIET_MS (600 ms; a gap in Live's paced output is no end of the turn), and the call is
 * told when it closes by itself; a barge-in closes it at once; no timer is left once stopped. A
 * turn's latency from the caller's words or the bridge's ask, and a barge-in's count, record and
 * log with what was heard. (Twilio's queue: live_voice_queue_test.ts.) Twilio's socket and the
 * Live session are stubs; time is a FakeClock whose monotonic time (Twilio's playout) the test
 * sets.
 */

import assert from "node:assert/strict";
import { delta, liveVoiceRig as setup } from "../../tests/helpers/live_voice_rig.ts";
import { ANSWER_WAIT_MS, TURN_QUIET_MS } from "./live_voice.ts";

Deno.test("live voice: an answer asked for keeps the turn open, at most ANSWER_WAIT_MS", () => {
  assert.equal(ANSWER_WAIT_MS, 5000, "the call relies on 5 s for an answer");
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
  assert.equal(TURN_QUIET_MS, 600, "the call relies on 600 ms of quiet ending the turn");
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
  assert.equal(voice.turnOpen, true, "1 ms of quiet left");
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

Deno.test("live voice: a turn per answer, its latency from the caller's words, recorded", () => {
  const { clock, voice, recorded, transcript, stats } = setup();
  assert.equal(voice.maxQueuedMs, 0, "nothing queued yet");
  clock.mono = 100;
  voice.callerSpoke();
  clock.mono = 350;
  voice.audio(delta(20));
  voice.spoken("Hi ");
  voice.spoken("there.");
  assert.deepEqual(voice.turns.map((t) => [t.responseId, t.latencyMs, t.status]), [
    ["live-agent-1", 250, "completed"],
  ]);
  assert.deepEqual(recorded.latencies, [{
    latencyMs: 250,
    inputTokens: 0,
    outputTokens: 0,
    outcome: "completed",
    at: voice.turns[0].startedAt,
  }]);
  assert.equal(voice.turns[0].startedAt, clock.now());
  assert.deepEqual(transcript.entries.map((e) => [e.role, e.text, e.itemId]), [
    ["agent", "Hi there.", "live-agent-1"],
  ]);
  assert.equal(stats.framesOut, 1, "the delta went to Twilio");
  assert.equal(voice.maxQueuedMs, 20);
  // Audio the bridge did not ask for (Live's own turn) has no latency to count.
  clock.tick(TURN_QUIET_MS);
  voice.interrupt("speech");
  clock.mono = 10_000;
  voice.spoken("More.");
  assert.deepEqual(voice.turns.map((t) => [t.responseId, t.latencyMs]), [
    ["live-agent-1", 250],
    ["live-agent-2", null],
  ]);
  assert.deepEqual(recorded.latencies.map((l) => l.latencyMs), [250, null]);
  voice.stop();
});

Deno.test("live voice: a barge-in while Twilio plays is counted, recorded with what was heard", () => {
  const { clock, voice, recorded, transcript, stats, twilio, logs } = setup();
  voice.callerSpoke();
  voice.audio(delta(100));
  voice.audio(delta(100));
  voice.audio(delta(100)); // Held: 200 ms are queued at Twilio.
  clock.mono = 40; // Twilio has played 40 ms of it.
  voice.interrupt("speech_started");
  assert.equal(twilio.at(-1), "clear", "Twilio stops playing");
  assert.equal(stats.bargeIns, 1);
  assert.deepEqual(voice.queuedAtBargeIn, [160]);
  assert.deepEqual(recorded.events, [{
    type: "barge_in",
    summary: "caller cut in after 40 ms of audio",
    data: { cause: "speech_started", audioEndMs: 40, queuedMs: 160 },
  }]);
  assert.deepEqual(logs, [{
    level: "info",
    event: "live.barge_in",
    cause: "speech_started",
    heardMs: 40,
    queuedMs: 160,
    heldDeltas: 1,
  }]);
  assert.equal(transcript.entries[0].interrupted, true);
  assert.equal(transcript.entries[0].heardMs, 40);
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

Deno.test("live voice: exactly TURN_QUIET_MS of quiet, nobody asking meanwhile: closed, no timer", () => {
  const { clock, voice, closed } = setup();
  voice.audio(delta(20));
  assert.equal(clock.pending, 0, "audio arms no timer: the call's asking does");
  clock.tick(TURN_QUIET_MS);
  assert.equal(voice.turnOpen, false, "the quiet is over at exactly TURN_QUIET_MS");
  assert.equal(clock.pending, 0, "asked when the quiet is over: no timer armed");
  assert.equal(closed(), 0, "no timer, so the call is not told again");
});

Deno.test("live voice: an answer nobody sent in time is logged", () => {
  const { clock, voice, logs } = setup();
  voice.say("Goodbye.");
  clock.tick(ANSWER_WAIT_MS);
  assert.deepEqual(logs, [{ level: "warn", event: "live.answer_missing", waitedMs: 5000 }]);
});

Deno.test("live voice: a turn's latency counts from the first ask since the last answer", () => {
  const { clock, voice, recorded } = setup();
  clock.mono = 100;
  voice.say("Hello.");
  clock.mono = 400;
  voice.audio(delta(20));
  clock.mono = 1000;
  voice.callerSpoke();
  clock.mono = 1200;
  voice.ask("The caller's account is open."); // The caller's words came first.
  clock.mono = 1500;
  voice.audio(delta(20));
  assert.deepEqual(voice.turns.map((t) => t.latencyMs), [300, 500]);
  assert.deepEqual(recorded.latencies.map((l) => l.latencyMs), [300, 500]);
  voice.stop();
});

Deno.test("live voice: one turn however many deltas; its line counts the audio sent", () => {
  const { voice, transcript, stats } = setup();
  voice.audio(delta(20));
  voice.audio(delta(40));
  assert.deepEqual(voice.turns.map((t) => t.responseId), ["live-agent-1"]);
  assert.deepEqual(transcript.entries.map((e) => [e.itemId, e.audioMs]), [["live-agent-1", 60]]);
  assert.equal(stats.framesOut, 2);
  assert.equal(voice.maxQueuedMs, 60);
  voice.stop();
});

Deno.test("live voice: a barge-in before Twilio played any of it heard 0 ms", () => {
  const { voice, recorded, transcript } = setup();
  voice.audio(delta(100));
  voice.interrupt("speech");
  assert.equal(recorded.events[0].summary, "caller cut in after 0 ms of audio");
  assert.equal(transcript.entries[0].heardMs, 0);
});

Deno.test("live voice: Twilio played all it had, a frame still held: that is playing too", () => {
  const { voice, stream, marks, twilio, recorded, transcript } = setup();
  for (let i = 0; i < 11; i++) voice.audio(delta(20));
  // Every mark echoes before the call tells the voice (which would release the held frame).
  for (const name of marks) stream.mark(name);
  assert.equal(stream.playing, false);
  assert.equal(voice.playing, true, "one frame is still held");
  voice.interrupt("speech");
  assert.equal(voice.playing, false, "the held frame is dropped");
  assert.equal(twilio.includes("clear"), false, "Twilio plays nothing to clear");
  assert.equal(recorded.events[0].data.audioEndMs, 200, "all it was sent was heard");
  assert.equal(transcript.entries[0].heardMs, 200);
});

Deno.test("live voice: nothing plays before the stream; a cut-in with no agent turn is moot", () => {
  const early = setup({ attach: false });
  assert.equal(early.voice.playing, false);
  const { voice, stats, recorded } = setup();
  voice.audio(delta(100));
  // The caller's turn began (the call cuts in first; a late cut-in has no agent turn to cut).
  voice.callerSpoke();
  voice.interrupt("speech");
  assert.equal(stats.bargeIns, 0);
  assert.deepEqual(recorded.events, []);
  voice.stop();
});
