/**
 * A SIP call's pending end: nothing is carried out without one; with one, it follows the quiet
 * pause of the agent's audio, or the longer wait for an answer owed, once, and never after stop.
 */

import assert from "node:assert/strict";
import { FakeClock } from "../../tests/helpers/fake_clock.ts";
import {
  GOODBYE_ANSWER_MS,
  GOODBYE_QUIET_MS,
  type PendingEnd,
  PendingGoodbye,
} from "./sip_goodbye.ts";

function goodbye() {
  const clock = new FakeClock();
  const ends: PendingEnd[] = [];
  return { clock, ends, goodbye: new PendingGoodbye(clock, (end) => ends.push(end)) };
}

Deno.test("the waits: 1.5 s of quiet, 5 s for an answer owed", () => {
  for (const [answerOwed, ms] of [[false, 1500], [true, 5000]] as const) {
    const { clock, ends, goodbye: g } = goodbye();
    g.set({ reason: "agent-ended" });
    g.outputsIn(answerOwed);
    clock.tick(ms - 1);
    assert.deepEqual(ends, [], `not before ${ms} ms`);
    clock.tick(1);
    assert.deepEqual(ends, [{ reason: "agent-ended" }], `at ${ms} ms`);
  }
});

Deno.test("no end asked for: audio and outputs arm nothing", () => {
  const { clock, goodbye: g } = goodbye();
  g.agentAudio();
  g.outputsIn(true);
  assert.equal(clock.pending, 0);
});

Deno.test("an answer owed: the end waits GOODBYE_ANSWER_MS, then its audio's quiet pause", () => {
  const { clock, ends, goodbye: g } = goodbye();
  g.set({ reason: "agent-ended" });
  g.outputsIn(true);
  clock.tick(GOODBYE_ANSWER_MS - 1);
  g.agentAudio();
  clock.tick(GOODBYE_QUIET_MS - 1);
  assert.deepEqual(ends, []);
  clock.tick(1);
  assert.deepEqual(ends, [{ reason: "agent-ended" }]);
  g.agentAudio();
  clock.tick(GOODBYE_ANSWER_MS);
  assert.equal(ends.length, 1, "once");
});

Deno.test("the goodbye said with the tool call: the end follows the quiet pause", () => {
  const { clock, ends, goodbye: g } = goodbye();
  g.set({ reason: "live-agent-handoff", number: "+15550100200" });
  g.outputsIn(false);
  assert.equal(clock.scheduledFor(GOODBYE_QUIET_MS), 1);
  clock.tick(GOODBYE_QUIET_MS);
  assert.deepEqual(ends, [{ reason: "live-agent-handoff", number: "+15550100200" }]);
});

Deno.test("stop: an armed end is not carried out", () => {
  const { clock, ends, goodbye: g } = goodbye();
  g.set({ reason: "agent-ended" });
  g.outputsIn(false);
  g.stop();
  clock.tick(GOODBYE_ANSWER_MS);
  assert.deepEqual(ends, []);
  assert.equal(clock.pending, 0);
});
