/**
 * ResponseSequencer's rules: which response is current (`active`), when the call is busy or owed
 * one, which request starts a busy spell, what `cancel` must send and what it mutes (including a
 * response asked for before the cancel and created after it), what a barge-in or a replaced
 * session mutes, the turns in order with status and usage, and each turn's latency (once, to
 * 0.1 ms, from the turn's start to the first audio of its response).
 */

import assert from "node:assert/strict";
import type { Usage } from "../protocols/openai_realtime.ts";
import { ResponseSequencer } from "./response_sequencer.ts";

const USAGE: Usage = { inputTokens: 120, outputTokens: 45, totalTokens: 165 };

/** What the call reads of `s`: current response, busy, owed. */
function state(s: ResponseSequencer): { active: string | null; busy: boolean; owed: boolean } {
  return { active: s.active, busy: s.busy, owed: s.owed };
}

Deno.test("a new call: nothing current, nothing busy or owed, no turns", () => {
  const s = new ResponseSequencer();
  assert.deepEqual(state(s), { active: null, busy: false, owed: false });
  assert.deepEqual(s.turns, []);
});

Deno.test("request: only the first of a busy spell is idle; busy from the request on", () => {
  const s = new ResponseSequencer();
  assert.equal(s.request(), true);
  assert.deepEqual(state(s), { active: null, busy: true, owed: true });
  assert.equal(s.request(), false); // one is already on its way
  s.created("resp_1", 1000);
  assert.equal(s.request(), false); // one is in progress
});

Deno.test("created makes the response current and opens its turn; done closes both", () => {
  const s = new ResponseSequencer();
  s.request();
  const turn = s.created("resp_1", 1_700_000_000_000);
  assert.deepEqual(turn, {
    responseId: "resp_1",
    startedAt: 1_700_000_000_000,
    latencyMs: null,
    status: null,
    usage: null,
  });
  assert.deepEqual(state(s), { active: "resp_1", busy: true, owed: true });
  assert.equal(s.muted("resp_1"), false);
  assert.equal(s.done("resp_1", "completed", USAGE), turn);
  assert.deepEqual(turn, {
    responseId: "resp_1",
    startedAt: 1_700_000_000_000,
    latencyMs: null,
    status: "completed",
    usage: USAGE,
  });
  assert.deepEqual(state(s), { active: null, busy: false, owed: false });
  assert.deepEqual(s.turns, [turn]);
});

Deno.test("a response created by the server's VAD (no request) is current too", () => {
  const s = new ResponseSequencer();
  s.created("resp_vad", 1000);
  assert.deepEqual(state(s), { active: "resp_vad", busy: true, owed: true });
});

Deno.test("a request made during a response stays on its way until created or refused", () => {
  const s = new ResponseSequencer();
  s.created("resp_1", 1000);
  assert.equal(s.request(), false);
  s.done("resp_1", "completed", null);
  // resp_1 is over but the second request has neither been created nor refused.
  assert.deepEqual(state(s), { active: null, busy: true, owed: true });
  s.created("resp_2", 2000);
  assert.deepEqual(state(s), { active: "resp_2", busy: true, owed: true });
  s.done("resp_2", "completed", null);
  assert.deepEqual(state(s), { active: null, busy: false, owed: false });
});

Deno.test("a refused request (one was in progress) is no longer on its way", () => {
  const s = new ResponseSequencer();
  s.created("resp_1", 1000);
  s.request();
  s.requestRefused();
  assert.deepEqual(state(s), { active: "resp_1", busy: true, owed: true });
  s.done("resp_1", "completed", null);
  assert.deepEqual(state(s), { active: null, busy: false, owed: false });
  // A refusal with nothing asked for does not count below zero.
  s.requestRefused();
  assert.equal(s.request(), true);
  assert.equal(s.busy, true);
});

Deno.test("the caller stopped: a response is owed (not busy) until the server creates one", () => {
  const s = new ResponseSequencer();
  s.callerStopped(500);
  assert.deepEqual(state(s), { active: null, busy: false, owed: true });
  s.created("resp_1", 1000);
  assert.deepEqual(state(s), { active: "resp_1", busy: true, owed: true });
  s.done("resp_1", "completed", null);
  assert.deepEqual(state(s), { active: null, busy: false, owed: false });
});

Deno.test("cancel with nothing in progress or asked for: no response.cancel to send", () => {
  const s = new ResponseSequencer();
  assert.equal(s.cancel(), false);
  s.callerStopped(0); // owed by VAD, but nothing to cancel yet
  assert.equal(s.cancel(), false);
  assert.deepEqual(state(s), { active: null, busy: false, owed: true });
});

Deno.test("cancel mid-response: muted, not current; the next request is idle and heard", () => {
  const s = new ResponseSequencer();
  s.created("resp_1", 1000);
  assert.equal(s.cancel(), true);
  assert.equal(s.muted("resp_1"), true);
  assert.deepEqual(state(s), { active: null, busy: false, owed: false });
  assert.equal(s.request(), true);
  // The server answers: resp_1 done (cancelled), then the new response.
  const cancelled = s.done("resp_1", "cancelled", null);
  assert.equal(cancelled?.status, "cancelled");
  assert.equal(s.muted("resp_1"), false); // forgotten once done
  s.created("resp_2", 2000);
  assert.equal(s.muted("resp_2"), false);
  assert.deepEqual(state(s), { active: "resp_2", busy: true, owed: true });
  assert.deepEqual(s.turns.map((t) => [t.responseId, t.status]), [
    ["resp_1", "cancelled"],
    ["resp_2", null],
  ]);
});

Deno.test("cancel before created: that response is muted when it comes, the next heard", () => {
  const s = new ResponseSequencer();
  assert.equal(s.request(), true);
  assert.equal(s.cancel(), true); // asked for, not yet created: still a response.cancel
  assert.equal(s.request(), false); // the first is still on its way
  s.created("resp_x", 1000); // the cancelled one
  assert.equal(s.muted("resp_x"), true);
  assert.deepEqual(state(s), { active: null, busy: true, owed: true });
  s.created("resp_y", 1100); // the one asked for after the cancel
  assert.equal(s.muted("resp_y"), false);
  assert.deepEqual(state(s), { active: "resp_y", busy: true, owed: true });
  s.done("resp_x", "cancelled", null);
  assert.equal(s.active, "resp_y");
  s.done("resp_y", "completed", null);
  assert.deepEqual(state(s), { active: null, busy: false, owed: false });
});

Deno.test("cancel with one in progress and two asked for: the two are muted, in order", () => {
  const s = new ResponseSequencer();
  s.created("resp_1", 1000);
  s.request();
  s.request();
  assert.equal(s.cancel(), true);
  assert.equal(s.muted("resp_1"), true);
  // resp_1 ended at the server before the two requests reached it, so both are created.
  s.created("resp_2", 1100);
  s.created("resp_3", 1200);
  s.created("resp_4", 1300); // not asked for before the cancel (the server's VAD)
  assert.deepEqual([1, 2, 3, 4].map((n) => s.muted(`resp_${n}`)), [true, true, true, false]);
  assert.equal(s.active, "resp_4");
});

Deno.test("the caller cut in (muteActive): late audio dropped, still current until done", () => {
  const s = new ResponseSequencer();
  s.muteActive(); // nothing in progress: nothing muted
  s.created("resp_1", 1000);
  s.muteActive();
  assert.equal(s.muted("resp_1"), true);
  // The server cancels it itself; until its response.done it is still the one in progress.
  assert.deepEqual(state(s), { active: "resp_1", busy: true, owed: true });
  s.done("resp_1", "cancelled", null);
  assert.equal(s.muted("resp_1"), false);
  assert.deepEqual(state(s), { active: null, busy: false, owed: false });
});

Deno.test("mute drops only the response named", () => {
  const s = new ResponseSequencer();
  s.created("resp_1", 1000);
  s.mute("resp_0");
  assert.equal(s.muted("resp_0"), true);
  assert.equal(s.muted("resp_1"), false);
  assert.equal(s.active, "resp_1");
});

Deno.test("abandon (session replaced): the response in progress is muted, not current", () => {
  const s = new ResponseSequencer();
  s.created("resp_1", 1000);
  assert.equal(s.abandon(), false, "an answer had begun: nothing to ask again");
  assert.equal(s.muted("resp_1"), true);
  assert.deepEqual(state(s), { active: null, busy: false, owed: false });
});

Deno.test("abandon: requests on their way and a VAD answer are gone, and must be asked again", () => {
  const asked = new ResponseSequencer();
  asked.request();
  assert.equal(asked.abandon(), true);
  assert.deepEqual(state(asked), { active: null, busy: false, owed: false });
  assert.equal(asked.request(), true, "the new session's first request starts a busy spell");
  asked.created("resp_2", 2000);
  assert.equal(asked.active, "resp_2", "not muted by a request of the old session");

  const vad = new ResponseSequencer();
  vad.callerStopped(500);
  assert.equal(vad.abandon(), true);
  assert.deepEqual(state(vad), { active: null, busy: false, owed: false });

  const cancelled = new ResponseSequencer();
  cancelled.created("resp_1", 1000);
  cancelled.request();
  cancelled.cancel();
  assert.equal(cancelled.abandon(), false, "only a cancelled request was on its way");
  cancelled.created("resp_3", 3000);
  assert.equal(cancelled.muted("resp_3"), false);
});

Deno.test("a refusal uses up a cancelled request: the answer asked for after it is heard", () => {
  const s = new ResponseSequencer();
  s.created("resp_a", 1000);
  s.request(); // B, which the server will refuse (A is in progress)
  assert.equal(s.cancel(), true); // a key press: A and B are cancelled
  s.requestRefused(); // B's refusal arrives
  s.request(); // C answers the key press
  s.done("resp_a", "cancelled", null);
  s.created("resp_c", 2000);
  assert.equal(s.muted("resp_c"), false);
  assert.equal(s.active, "resp_c");
});

Deno.test("done: the turn of the id (the last if repeated); undefined for an unknown id", () => {
  const s = new ResponseSequencer();
  assert.equal(s.done("resp_unknown", "completed", null), undefined);
  const first = s.created("resp_1", 1000);
  s.done("resp_1", "completed", null);
  const again = s.created("resp_1", 2000);
  assert.equal(s.done("resp_1", "failed", USAGE), again);
  assert.deepEqual([first.status, again.status], ["completed", "failed"]);
  assert.deepEqual([first.usage, again.usage], [null, USAGE]);
});

Deno.test("latency: from the turn's start to its response's first audio, once, to 0.1 ms", () => {
  const s = new ResponseSequencer();
  s.turnStarted(100);
  s.request();
  const turn = s.created("resp_1", 1_700_000_000_000); // epoch ms: not used for latency
  s.audio("resp_1", 350.26); // 250.26 ms → 250.3
  assert.equal(turn.latencyMs, 250.3);
  s.audio("resp_1", 900);
  assert.equal(turn.latencyMs, 250.3);
  // The caller's turn: latency counts from when they stopped speaking.
  s.done("resp_1", "completed", null);
  s.callerStopped(1000);
  const next = s.created("resp_2", 1_700_000_001_000);
  s.audio("resp_2", 1234.54); // 234.54 → 234.5
  assert.equal(next.latencyMs, 234.5);
});

Deno.test("latency: only audio of the current turn's response counts", () => {
  const s = new ResponseSequencer();
  s.turnStarted(0);
  const turn = s.created("resp_1", 1000);
  s.audio("resp_0", 40); // a late delta of an older response
  assert.equal(turn.latencyMs, null);
  s.done("resp_1", "cancelled", null);
  s.audio("resp_1", 50); // its turn is closed
  assert.equal(turn.latencyMs, null);
  // The turn started at 0 has not been answered yet: the next response's first audio does.
  const next = s.created("resp_2", 2000);
  s.audio("resp_2", 80);
  assert.equal(next.latencyMs, 80);
});

Deno.test("latency: null when no turn start is known", () => {
  const s = new ResponseSequencer();
  const turn = s.created("resp_1", 1000);
  s.audio("resp_1", 40);
  assert.equal(turn.latencyMs, null);
  // Once used, a turn start is not used again by the next response.
  s.done("resp_1", "completed", null);
  s.turnStarted(100);
  const next = s.created("resp_2", 2000);
  s.audio("resp_2", 130);
  s.done("resp_2", "completed", null);
  const third = s.created("resp_3", 3000);
  s.audio("resp_3", 500);
  assert.deepEqual([next.latencyMs, third.latencyMs], [30, null]);
});
