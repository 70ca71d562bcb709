/**
 * LiveVoice keeps Twilio's queue under MAX_QUEUED_MS (200 ms) whatever the deltas' length: a long
 * one is cut to the room left (whole base64 groups, never a part under a 20 ms frame), its rest
 * sent as Twilio plays, by a timer set for when the room for the next part opens (not only as the
 * marks echo), one timer at a time. Twilio's socket and the Live session are stubs; time is a
 * FakeClock whose monotonic time (Twilio's playout) the test sets, or which follows the timers.
 */

import assert from "node:assert/strict";
import { bytes, delta, liveVoiceRig as setup } from "../../tests/helpers/live_voice_rig.ts";
import { MAX_QUEUED_MS } from "./live_voice.ts";

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

Deno.test("live voice: a delta a little over the room is cut so that its rest is a frame", () => {
  const { clock, voice, media } = setup();
  clock.following = true;
  voice.audio(delta(210));
  // 1680 bytes, 1600 of room: a cut of 1599 would leave 81 bytes, so 1518 go and 162 wait.
  assert.deepEqual(media, [1518]);
  // 189.75 ms queued: the 162 bytes fit once 10 ms have played.
  assert.equal(clock.scheduledFor(10), 1);
  clock.tick(9);
  assert.equal(media.length, 1);
  clock.tick(1);
  assert.deepEqual(media, [1518, 162]);
  assert.equal(clock.pending, 0);
});

Deno.test("live voice: the rest of a long delta goes once the shortest cut (162 bytes) fits", () => {
  const { clock, voice, media } = setup();
  clock.following = true;
  voice.audio(delta(300));
  assert.deepEqual(media, [1599]);
  // 1 byte of room; a frame in whole base64 groups is 162 bytes: 161 more play in 20.125 ms.
  assert.equal(clock.scheduledFor(21), 1);
  assert.equal(clock.pending, 1);
  clock.tick(20);
  assert.equal(media.length, 1);
  clock.tick(1);
  assert.deepEqual(media, [1599, 168], "169 bytes of room: 56 whole groups");
  clock.tick(1000);
  assert.equal(media.reduce((a, b) => a + b, 0), 300 * 8, "every byte, none twice");
  assert.ok(media.every((n) => n >= 160), `no part under a frame: ${media}`);
  assert.equal(clock.pending, 0);
});

Deno.test("live voice: one timer at a time, set for the room the next part needs", () => {
  const { clock, voice, media } = setup();
  clock.following = true;
  for (let i = 0; i < 10; i++) voice.audio(delta(20));
  clock.tick(12.5);
  voice.audio(delta(100));
  // 100 bytes of room, 162 needed: 62 more play in 7.75 ms.
  assert.equal(media.length, 10, "99 bytes would be a part under a frame");
  assert.equal(clock.scheduledFor(8), 1);
  voice.played(); // A mark echoes meanwhile: still one timer.
  voice.audio(delta(20));
  assert.equal(clock.pending, 1);
  clock.tick(8);
  assert.deepEqual(media.slice(10), [162], "164 bytes of room: the shortest cut");
  // 2 bytes of room left: the next 162 need 20 ms more.
  assert.equal(clock.scheduledFor(20), 1);
  assert.equal(clock.pending, 1);
  clock.tick(1000);
  assert.equal(media.reduce((a, b) => a + b, 0), (200 + 100 + 20) * 8);
  assert.equal(clock.pending, 0);
});

Deno.test("live voice: a held delta too short to cut in two waits whole, for one timer", () => {
  const { clock, voice, media } = setup();
  clock.following = true;
  for (let i = 0; i < 10; i++) voice.audio(delta(20));
  // 320 bytes: any cut leaves less than a frame (or is one), so it goes whole, in 40 ms.
  voice.audio(bytes(320));
  assert.equal(clock.scheduledFor(40), 1);
  clock.tick(39);
  assert.equal(media.length, 10);
  assert.equal(clock.pending, 1, "no timer before the room is there");
  clock.tick(1);
  assert.deepEqual(media.slice(10), [320]);
  assert.equal(clock.pending, 0);
});

Deno.test("live voice: a held delta of 322 bytes is cut as soon as 162 of them fit", () => {
  const { clock, voice, media } = setup();
  clock.following = true;
  for (let i = 0; i < 10; i++) voice.audio(delta(20));
  voice.audio(bytes(322));
  assert.equal(clock.scheduledFor(21), 1);
  clock.tick(21);
  assert.deepEqual(media.slice(10), [162], "a frame's whole groups; a frame left");
  clock.tick(20);
  assert.deepEqual(media.slice(10), [162, 160]);
  assert.equal(clock.pending, 0);
});
