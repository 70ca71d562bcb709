/**
 * SilenceMonitor on a fake clock: a reminder `reminderAfterSeconds` after the agent was heard,
 * re-armed only when the agent is heard again; after `maxReminders` of them the goodbye, and the
 * monitor stops. Caller activity clears the timer and the count, the agent speaking clears the
 * timer only, `reminderAfterSeconds: 0` never reminds, and `stop` is final.
 */

import assert from "node:assert/strict";
import { FakeClock } from "../../tests/helpers/fake_clock.ts";
import type { SilenceSettings } from "../agents/agent_profile.ts";
import { SilenceMonitor } from "./silence_monitor.ts";

const SETTINGS: SilenceSettings = {
  reminderAfterSeconds: 10,
  maxReminders: 2,
  reminder: "Are you still there?",
  goodbye: "Goodbye for now.",
};
const AFTER_MS = 10_000;

/** A monitor on a fake clock whose actions are recorded in order. */
function monitor(settings: Partial<SilenceSettings> = {}) {
  const clock = new FakeClock();
  const actions: [string, string][] = [];
  const silence = new SilenceMonitor({ ...SETTINGS, ...settings }, clock, {
    remind: (text) => actions.push(["remind", text]),
    giveUp: (goodbye) => actions.push(["giveUp", goodbye]),
  });
  return { clock, actions, silence };
}

Deno.test("nothing is timed before the agent has been heard", () => {
  const { clock, actions, silence } = monitor();
  assert.equal(clock.pending, 0);
  clock.tick(AFTER_MS * 10);
  assert.deepEqual(actions, []);
  assert.equal(silence.reminders, 0);
});

Deno.test("a reminder reminderAfterSeconds after the agent was heard, not before", () => {
  const { clock, actions, silence } = monitor();
  silence.agentHeard();
  assert.equal(clock.scheduledFor(AFTER_MS), 1);
  clock.tick(AFTER_MS - 1);
  assert.deepEqual(actions, []);
  clock.tick(1);
  assert.deepEqual(actions, [["remind", "Are you still there?"]]);
  assert.equal(silence.reminders, 1);
  // The next one waits until the reminder itself has been heard.
  assert.equal(clock.pending, 0);
  clock.tick(AFTER_MS * 5);
  assert.equal(actions.length, 1);
});

Deno.test("after maxReminders reminders the next silence says the goodbye and stops", () => {
  const { clock, actions, silence } = monitor();
  for (let i = 0; i < 3; i++) {
    silence.agentHeard();
    clock.tick(AFTER_MS);
  }
  assert.deepEqual(actions, [
    ["remind", "Are you still there?"],
    ["remind", "Are you still there?"],
    ["giveUp", "Goodbye for now."],
  ]);
  assert.equal(silence.reminders, 2);
  // Stopped: the goodbye being heard starts nothing.
  silence.agentHeard();
  assert.equal(clock.pending, 0);
  clock.tick(AFTER_MS);
  assert.equal(actions.length, 3);
});

Deno.test("maxReminders 0: the first silence is the goodbye", () => {
  const { clock, actions, silence } = monitor({ maxReminders: 0 });
  silence.agentHeard();
  clock.tick(AFTER_MS);
  assert.deepEqual(actions, [["giveUp", "Goodbye for now."]]);
  assert.equal(silence.reminders, 0);
});

Deno.test("agentHeard again restarts the wait from then, with one timer", () => {
  const { clock, actions, silence } = monitor();
  silence.agentHeard();
  clock.tick(AFTER_MS - 1000);
  silence.agentHeard();
  assert.equal(clock.pending, 1);
  clock.tick(AFTER_MS - 1);
  assert.deepEqual(actions, []);
  clock.tick(1);
  assert.deepEqual(actions, [["remind", "Are you still there?"]]);
});

Deno.test("the caller speaking clears the timer and resets the count", () => {
  const { clock, actions, silence } = monitor();
  silence.agentHeard();
  clock.tick(AFTER_MS);
  silence.agentHeard();
  clock.tick(AFTER_MS);
  assert.equal(silence.reminders, 2);
  silence.agentHeard();
  clock.tick(AFTER_MS - 1);
  silence.callerActive();
  assert.equal(silence.reminders, 0);
  assert.equal(clock.pending, 0);
  clock.tick(AFTER_MS);
  assert.equal(actions.length, 2);
  // A full set of reminders again before the goodbye.
  for (let i = 0; i < 3; i++) {
    silence.agentHeard();
    clock.tick(AFTER_MS);
  }
  assert.deepEqual(actions.map(([kind]) => kind), [
    "remind",
    "remind",
    "remind",
    "remind",
    "giveUp",
  ]);
});

Deno.test("the agent speaking clears the timer but keeps the count", () => {
  const { clock, actions, silence } = monitor();
  silence.agentHeard();
  clock.tick(AFTER_MS);
  assert.equal(silence.reminders, 1);
  silence.agentHeard();
  clock.tick(AFTER_MS - 1);
  silence.agentSpeaking();
  assert.equal(clock.pending, 0);
  clock.tick(AFTER_MS);
  assert.equal(actions.length, 1);
  assert.equal(silence.reminders, 1);
  // Heard again: the wait starts over, and the count goes on from 1.
  silence.agentHeard();
  clock.tick(AFTER_MS);
  silence.agentHeard();
  clock.tick(AFTER_MS);
  assert.deepEqual(actions, [
    ["remind", "Are you still there?"],
    ["remind", "Are you still there?"],
    ["giveUp", "Goodbye for now."],
  ]);
});

Deno.test("reminderAfterSeconds 0 turns reminders off", () => {
  const { clock, actions, silence } = monitor({ reminderAfterSeconds: 0 });
  silence.agentHeard();
  assert.equal(clock.pending, 0);
  clock.tick(AFTER_MS * 100);
  assert.deepEqual(actions, []);
});

Deno.test("reminderAfterSeconds may be fractional: 2.5 s is a 2500 ms wait", () => {
  const { clock, actions, silence } = monitor({ reminderAfterSeconds: 2.5 });
  silence.agentHeard();
  assert.equal(clock.scheduledFor(2500), 1);
  clock.tick(2499);
  assert.deepEqual(actions, []);
  clock.tick(1);
  assert.equal(actions.length, 1);
});

Deno.test("the profile's reminder and goodbye texts are what is said", () => {
  const { clock, actions, silence } = monitor({
    maxReminders: 1,
    reminder: "Hello? Take your time.",
    goodbye: "I'll hang up now.",
  });
  silence.agentHeard();
  clock.tick(AFTER_MS);
  silence.agentHeard();
  clock.tick(AFTER_MS);
  assert.deepEqual(actions, [["remind", "Hello? Take your time."], [
    "giveUp",
    "I'll hang up now.",
  ]]);
});

Deno.test("stop clears the timer for good", () => {
  const { clock, actions, silence } = monitor();
  silence.agentHeard();
  silence.stop();
  assert.equal(clock.pending, 0);
  clock.tick(AFTER_MS);
  silence.agentHeard();
  silence.callerActive();
  silence.agentHeard();
  assert.equal(clock.pending, 0);
  clock.tick(AFTER_MS);
  assert.deepEqual(actions, []);
});
