/**
 * Silence on the ConversationRelay path with a fake clock: reminders after the agent's turn was
 * heard, the final hang-up as `unresponsive`, and caller speech or key presses resetting it.
 * The default profile reminds after 10 s, twice.
 */

import assert from "node:assert/strict";
import type { RelaySession } from "../lib/relay/relay_session.ts";
import type { RelayClient } from "./fakes/relay_client.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { type RelayHarness, relayHarness, until } from "./helpers/relay_harness.ts";

const SILENCE_MS = 10_000;

/** Twilio's report that the agent stopped speaking. */
function heard(call: RelayClient): void {
  call.speaking("agent", false);
}

/**
 * Resolves once the session has handled every frame sent before: frames are handled in order,
 * and an `info` with an unknown name is logged when handled.
 */
async function synced(h: RelayHarness, call: RelayClient): Promise<void> {
  const marker = `sync-${crypto.randomUUID()}`;
  call.send({ type: "info", name: marker });
  await until(
    () => h.svc.logs.some((l) => l.event === "relay.info" && l.name === marker),
    "the session handled the frames sent so far",
  );
}

/** The (only) live call's session. */
function sessionOf(h: RelayHarness): RelaySession {
  const [session] = h.svc.services.registry.list();
  assert.ok(session, "a live session");
  return session as RelaySession;
}

/** What the agent has said on the live call, as its session recorded it. */
function agentLines(h: RelayHarness): string[] {
  return sessionOf(h).transcript.filter((t) => t.role === "agent").map((t) => t.text);
}

Deno.test("silence: two reminders, then the call ends as unresponsive", async () => {
  const clock = new FakeClock();
  const h = await relayHarness({ WELCOME_GREETING: "Hello!" }, { clock });
  try {
    const call = await h.call();
    heard(call); // the greeting
    await synced(h, call);
    // `tick` runs the due timers synchronously: what the session said is in its transcript now.
    clock.tick(SILENCE_MS - 1);
    assert.deepEqual(agentLines(h), ["Hello!"], "nothing before 10 s");
    clock.tick(1);
    assert.deepEqual(agentLines(h), ["Hello!", "Are you still there?"], "the reminder at 10 s");
    assert.equal((await call.turn()).text, "Are you still there?");
    heard(call);
    await synced(h, call);
    clock.tick(SILENCE_MS);
    assert.equal((await call.turn()).text, "Are you still there?");
    heard(call);
    await synced(h, call);
    clock.tick(SILENCE_MS);
    assert.match((await call.turn()).text, /I'll end the call now/);
    assert.equal(sessionOf(h).endReason, null, "not before the goodbye is heard");
    heard(call);
    const end = await call.next((m) => m.type === "end");
    assert.equal(JSON.parse(String(end.handoffData)).reason, "unresponsive");
    // The model saw the reminders as said.
    assert.equal(h.fake.requests.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("silence: caller speech and key presses reset the reminders", async () => {
  const clock = new FakeClock();
  const h = await relayHarness({ WELCOME_GREETING: "Hi", DTMF_DEBOUNCE_MS: "100" }, { clock });
  try {
    const call = await h.call();
    heard(call);
    await synced(h, call);
    clock.tick(SILENCE_MS);
    assert.equal((await call.turn()).text, "Are you still there?");
    // The caller answers: the count starts again.
    call.prompt("yes, sorry");
    assert.equal((await call.turn()).text, "You said: yes, sorry");
    heard(call);
    await synced(h, call);
    clock.tick(SILENCE_MS);
    assert.equal((await call.turn()).text, "Are you still there?");
    // A key press also shows the caller is there.
    call.dtmf("5");
    await synced(h, call);
    clock.tick(100); // the debounce gives the key press to the model
    await call.turn();
    heard(call);
    await synced(h, call);
    clock.tick(SILENCE_MS);
    assert.equal((await call.turn()).text, "Are you still there?", "a first reminder again");
    // Silence does not count while the agent is speaking.
    call.speaking("agent", true);
    await synced(h, call);
    const said = agentLines(h);
    clock.tick(SILENCE_MS * 5);
    assert.deepEqual(agentLines(h), said, "no reminder while the agent speaks");
    call.prompt("still here");
    assert.equal((await call.turn()).text, "You said: still here");
    assert.equal(sessionOf(h).endReason, null);
    const history = h.fake.requests[1].body.messages as { role: string; content: string }[];
    assert.deepEqual(history.slice(1, 4).map((m) => m.role), ["assistant", "user", "assistant"]);
  } finally {
    await h.close();
  }
});

Deno.test("silence: without speaker events, the estimated end of speech starts the timer", async () => {
  const clock = new FakeClock();
  const h = await relayHarness({ WELCOME_GREETING: "Hi" }, { clock });
  try {
    const call = await h.call();
    await synced(h, call);
    const speechMs = 1500 + 70 * "Hi".length;
    clock.tick(speechMs - 1);
    assert.equal(clock.scheduledFor(SILENCE_MS), 0, "the greeting is not yet taken as heard");
    clock.tick(1); // the greeting is taken as heard: the silence starts counting
    assert.equal(clock.scheduledFor(SILENCE_MS), 1, "heard after the estimated speech time");
    clock.tick(SILENCE_MS - 1);
    assert.deepEqual(agentLines(h), ["Hi"], "no reminder before 10 s after that");
    clock.tick(1);
    assert.deepEqual(agentLines(h), ["Hi", "Are you still there?"]);
    assert.equal((await call.turn()).text, "Are you still there?");
  } finally {
    await h.close();
  }
});

Deno.test("silence: a call that hangs up leaves no timer behind", async () => {
  const clock = new FakeClock();
  const h = await relayHarness({ WELCOME_GREETING: "Hi" }, { clock });
  try {
    const call = await h.call();
    heard(call);
    await synced(h, call);
    assert.equal(clock.scheduledFor(10_000), 1, "a silence timer is running");
    await call.hangUp();
    await until(() => h.svc.services.registry.size === 0, "session closed");
    assert.equal(clock.pending, 0, "every per-call timer is cleared");
  } finally {
    await h.close();
  }
});
