/**
 * Findings of the SIP review, each pinned by a test over real sockets with the real `openai` SDK
 * against the fake: an INVITE without a call token cannot pick the agent or borrow another
 * call's SID by its `X-Callbridge-*` headers (they are caller-supplied); calls whose webhooks
 * arrive together are held to `MAX_CONCURRENT_CALLS` (the registry only counts a call once its
 * accept has answered), and the same call's event on the other surface never rejects it; a call
 * whose sideband cannot be reopened is hung up (not left talking to OpenAI with no one running
 * its tools); a Realtime SIP call transcribes the caller; an accept that fails is followed by a
 * reject (503), so the caller does not ring on in silence; `end_call` waits for a goodbye that
 * begins late (a Live answer goes through its delegation first), ends it after the pause of one
 * said with the call, and ends it anyway when none comes (also after key presses, which ask for
 * an answer as words do); a call to a disabled agent is refused
 * once; the caller's key presses, told only to the sideband, reach the agent as one turn (on
 * Realtime, a response in progress is cancelled first, or their answer would be refused), also
 * when they fall due while the sideband is reopening (they wait for it).
 */

import assert from "node:assert/strict";
import { waitUntil } from "./fakes/event_log.ts";
import type { RealtimeHarness } from "./helpers/realtime_harness.ts";
import { callIn, deliver, dialedHeaders, startSip } from "./helpers/sip_harness.ts";
import type { SipCall } from "../lib/sip/sip_call.ts";
import { GOODBYE_ANSWER_MS, GOODBYE_QUIET_MS } from "../lib/sip/sip_goodbye.ts";
import { FakeClock } from "./helpers/fake_clock.ts";

function sipCalls(h: RealtimeHarness): SipCall[] {
  return h.service.services.registry.list().filter((c) => c.mode === "sip") as SipCall[];
}

Deno.test("sip review: without a call token, X-Callbridge headers pick neither agent nor SID", async () => {
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "live" });
  try {
    // Anyone can send an INVITE to the project's SIP URI, with any headers.
    const events = sip.incoming({
      "X-Callbridge-Agent": "appointments",
      "X-Callbridge-Call-Sid": "CA0123456789abcdef0123456789abcdef",
    });
    await deliver(h, events.live);
    await h.service.services.sipWebhook.idle();
    const accept = sip.of("accept")[0];
    assert.ok(accept, "the call was answered");
    const instructions = String((accept.body.session as { instructions: string }).instructions);
    assert.doesNotMatch(instructions, /Bright Smile Dental/, "not the agent the headers named");
    const [call] = sipCalls(h);
    assert.equal(call.context.profile.name, "default");
    assert.equal(call.callSid, null, "not another call's SID");
    call.end("admin-ended");
    await sip.requests.waitFor((r) => r.action === "hangup", { what: "hangup" });
  } finally {
    await h.close();
  }
});

Deno.test("sip review: webhooks arriving together are held to MAX_CONCURRENT_CALLS", async () => {
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "live", MAX_CONCURRENT_CALLS: "1" });
  try {
    const first = sip.incoming(await dialedHeaders(h, "default"));
    const second = sip.incoming(await dialedHeaders(h, "default"));
    await Promise.all([deliver(h, first.live), deliver(h, second.live)]);
    await h.service.services.sipWebhook.idle();
    assert.equal(sip.of("accept").length, 1, "one line, one call accepted");
    assert.deepEqual(sip.of("reject").map((r) => r.body), [{ status_code: 486 }]);
    for (const call of sipCalls(h)) call.end("admin-ended");
    await sip.requests.waitFor((r) => r.action === "hangup", { what: "hangup" });
  } finally {
    await h.close();
  }
});

Deno.test("sip review: the other surface's event of an accepted call does not reject it", async () => {
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "live", MAX_CONCURRENT_CALLS: "1" });
  try {
    const events = await callIn(h, sip, "live");
    assert.equal(sip.of("accept").length, 1);
    // The same call's Realtime event, delivered later: the line it would take is its own.
    await deliver(h, events.realtime);
    await h.service.services.sipWebhook.idle();
    assert.equal(sip.of("reject").length, 0, "the accepted call is not rejected");
    assert.equal(h.logs("sip.reject_failed").length, 0);
    assert.equal(h.service.services.limitHits.get("max_concurrent_calls") ?? 0, 0);
    for (const call of sipCalls(h)) call.end("admin-ended");
    await sip.requests.waitFor((r) => r.action === "hangup", { what: "hangup" });
  } finally {
    await h.close();
  }
});

Deno.test("sip review: a call whose sideband cannot be reopened is hung up", async () => {
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "live" });
  try {
    const events = await callIn(h, sip, "live");
    const id = events.live.data.session_id;
    const sideband = await sip.sideband(id);
    const [call] = sipCalls(h);
    await waitUntil(() => call.opens === 1, { what: "open" });
    // The sideband drops and cannot come back: no one would run the agent's tools or end the
    // call, and its line would be free for another, while the caller still talks to OpenAI.
    sip.refuseSidebands = 500;
    sideband.drop();
    await waitUntil(() => call.endReason === "sideband-failed", { what: "the call failed" });
    const hangup = await sip.requests.waitFor((r) => r.action === "hangup", { what: "hangup" });
    assert.equal(hangup.id, id);
    assert.equal(hangup.status, 200);
  } finally {
    await h.close();
  }
});

Deno.test("sip review: a Realtime SIP call transcribes the caller (the record's caller lines)", async () => {
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "realtime" });
  try {
    const events = await callIn(h, sip, "realtime");
    const accept = sip.of("accept")[0];
    const audio = accept.body.audio as { input?: { transcription?: { model?: string } } };
    assert.equal(audio.input?.transcription?.model, "gpt-4o-mini-transcribe");
    const sideband = await sip.sideband(events.realtime.data.call_id);
    const [call] = sipCalls(h);
    sideband.callerSays("I'd like to book a cleaning.");
    await waitUntil(
      () => call.transcript.entries.some((t) => t.role === "caller" && /cleaning/.test(t.text)),
      { what: "the caller's line in the transcript" },
    );
    call.end("admin-ended");
    await sip.requests.waitFor((r) => r.action === "hangup", { what: "hangup" });
  } finally {
    await h.close();
  }
});

Deno.test("sip review: an accept that fails is followed by a reject (503), not silence", async () => {
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "live" });
  try {
    sip.failAccepts = 500;
    await callIn(h, sip, "live");
    // The SDK tried twice (maxRetries 1); then the call was turned away.
    assert.deepEqual(sip.of("accept").map((r) => r.status), [500, 500]);
    assert.deepEqual(sip.of("reject").map((r) => [r.body, r.status]), [[
      { status_code: 503 },
      200,
    ]]);
    assert.equal(sipCalls(h).length, 0);
  } finally {
    await h.close();
  }
});

/**
 * A Live SIP call of `default` on `clock`, its sideband, and end_call asked for and answered
 * (the goodbye said with it, if `goodbye`), after the caller's words (or, with `keys`, the agent's
 * words, then the caller's key presses).
 */
async function endingCall(clock: FakeClock, options: { goodbye?: string; keys?: string } = {}) {
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "live" }, { clock });
  const events = await callIn(h, sip, "live");
  const sideband = await sip.sideband(events.live.data.session_id);
  if (options.keys) {
    sideband.agentSays("Press 1 to end the call.");
    for (const key of options.keys) sideband.press(key);
  } else sideband.callerSays("That's all, thanks.");
  if (options.goodbye) sideband.agentSays(options.goodbye);
  sideband.call("end_call", JSON.stringify({ reason: "done" }));
  const output = await sideband.events.waitFor((e) => e.type === "response.item.create", {
    what: "end_call's output",
  });
  await sideband.events.waitFor((e) => e.type === "response.create", {
    from: sideband.events.items.indexOf(output),
    what: "the goodbye asked for",
  });
  return { h, sip, sideband };
}

Deno.test("sip review: end_call waits for a goodbye that begins late, then for its pause", async () => {
  const clock = new FakeClock();
  const { h, sip, sideband } = await endingCall(clock);
  try {
    // The delegated answer takes longer than the quiet pause: the call must not end yet.
    clock.tick(GOODBYE_QUIET_MS + 500);
    sideband.agentSays("Goodbye, and thanks for calling!");
    // Its audio arms the pause again: the end was still pending.
    await waitUntil(() => clock.scheduledFor(GOODBYE_QUIET_MS) === 1, { what: "the pause" });
    assert.equal(sip.of("hangup").length, 0);
    clock.tick(GOODBYE_QUIET_MS);
    const hangup = await sip.requests.waitFor((r) => r.action === "hangup", { what: "hangup" });
    assert.equal(hangup.status, 200);
  } finally {
    await h.close();
  }
});

Deno.test("sip review: a goodbye said with end_call ends the call after its pause", async () => {
  const clock = new FakeClock();
  const { h, sip } = await endingCall(clock, { goodbye: "Goodbye!" });
  try {
    assert.equal(clock.scheduledFor(GOODBYE_QUIET_MS), 1, "no wait for another answer");
    assert.equal(clock.scheduledFor(GOODBYE_ANSWER_MS), 0);
    clock.tick(GOODBYE_QUIET_MS);
    const hangup = await sip.requests.waitFor((r) => r.action === "hangup", { what: "hangup" });
    assert.equal(hangup.status, 200);
  } finally {
    await h.close();
  }
});

Deno.test("sip review: end_call ends the call when no goodbye comes", async () => {
  const clock = new FakeClock();
  const { h, sip } = await endingCall(clock);
  try {
    assert.equal(clock.scheduledFor(GOODBYE_ANSWER_MS), 1);
    clock.tick(GOODBYE_ANSWER_MS);
    const hangup = await sip.requests.waitFor((r) => r.action === "hangup", { what: "hangup" });
    assert.equal(hangup.status, 200);
  } finally {
    await h.close();
  }
});

Deno.test("sip review: end_call after key presses waits for the goodbye to begin", async () => {
  const clock = new FakeClock();
  // The agent spoke before the keys ("#" gives them at once): they ask for an answer, not yet
  // begun, so the end waits for it rather than ending after the quiet pause, cutting it.
  const { h, sip } = await endingCall(clock, { keys: "1#" });
  try {
    assert.equal(clock.scheduledFor(GOODBYE_ANSWER_MS), 1);
    assert.equal(clock.scheduledFor(GOODBYE_QUIET_MS), 0);
    clock.tick(GOODBYE_ANSWER_MS);
    const hangup = await sip.requests.waitFor((r) => r.action === "hangup", { what: "hangup" });
    assert.equal(hangup.status, 200);
  } finally {
    await h.close();
  }
});

Deno.test("sip review: a call to a disabled agent is refused once (503), whichever event comes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sip_disabled_" });
  const shipped = new URL("../assets/agents/default/", import.meta.url);
  await Deno.mkdir(`${dir}/default`);
  await Deno.mkdir(`${dir}/broken`);
  for (const file of ["agent.json", "instructions.md", "tools.json"]) {
    await Deno.copyFile(new URL(file, shipped), `${dir}/default/${file}`);
  }
  await Deno.writeTextFile(`${dir}/broken/agent.json`, '{"colour": "red"}');
  await Deno.writeTextFile(`${dir}/broken/instructions.md`, "Broken.");
  const { h, sip } = await startSip({
    AGENTS_DIR: dir,
    OPENAI_VOICE_ENGINE: "live",
    SIP_TRUNK_AGENTS: "+15550100999=broken",
  });
  try {
    const events = sip.incoming({ To: "<sip:+15550100999@sip.api.openai.com>" });
    await deliver(h, events.realtime);
    await deliver(h, events.live);
    await h.service.services.sipWebhook.idle();
    assert.deepEqual(sip.of("reject").map((r) => [r.surface, r.body, r.status]), [
      ["live", { status_code: 503 }, 200],
    ]);
    assert.equal(h.logs("sip.reject_failed").length, 0);
    assert.equal(sip.of("accept").length, 0);
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

for (const engine of ["live", "realtime"] as const) {
  Deno.test(`sip review, ${engine}: the caller's key presses reach the agent as one turn`, async () => {
    const clock = new FakeClock();
    const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: engine }, { clock });
    try {
      const events = sip.incoming(await dialedHeaders(h, "default"));
      await deliver(h, events[engine]);
      await h.service.services.sipWebhook.idle();
      const id = engine === "live" ? events.live.data.session_id : events.realtime.data.call_id;
      const sideband = await sip.sideband(id);
      const [call] = sipCalls(h);
      const greeting = engine === "live" ? "session.commentary.append" : "response.create";
      await sideband.events.waitFor((e) => e.type === greeting, { what: "the greeting" });
      const from = sideband.events.items.length;
      for (const key of ["1", "2"]) sideband.press(key);
      // Pressed within the debounce: one turn once it has passed (DTMF_DEBOUNCE_MS, 150 ms).
      await waitUntil(() => clock.scheduledFor(150) === 1, { what: "the key presses" });
      clock.tick(150);
      const text = "[The caller pressed the keys: 1 2]";
      if (engine === "live") {
        // After the greeting's commentary: the keys' own.
        const said = await sideband.events.waitFor(
          (e) =>
            e.type === "session.commentary.append" && e.content !== call.context.greeting &&
            !String(e.content).startsWith("Greet"),
          { from, what: "the keys as commentary" },
        );
        assert.equal(said.content, text);
      } else {
        const item = await sideband.events.waitFor((e) => e.type === "conversation.item.create", {
          from,
          what: "the keys as a user item",
        });
        assert.deepEqual(item.item, {
          type: "message",
          role: "user",
          content: [{ type: "input_text", text }],
        });
        await sideband.events.waitFor((e) => e.type === "response.create", {
          from,
          what: "an answer asked for",
        });
        // The greeting's response was over: nothing to cancel, nothing refused.
        assert.equal(sideband.of("response.cancel").length, 0);
        assert.deepEqual(sideband.refused, []);
      }
      assert.deepEqual(call.transcript.entries.map((e) => [e.role, e.text]), [["caller", text]]);
    } finally {
      await h.close();
    }
  });
}

Deno.test("sip review, realtime: key presses during a response cancel it, so their answer is not refused", async () => {
  const clock = new FakeClock();
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "realtime" }, { clock });
  try {
    const events = await callIn(h, sip, "realtime");
    const sideband = await sip.sideband(events.realtime.data.call_id);
    await sideband.events.waitFor((e) => e.type === "response.create", { what: "the greeting" });
    const from = sideband.events.items.length;
    // The server's VAD answers the caller; the keys come while that answer is in progress.
    sideband.serverResponds();
    for (const key of ["4", "2"]) sideband.press(key);
    await waitUntil(() => clock.scheduledFor(150) === 1, { what: "the key presses" });
    clock.tick(150);
    await sideband.events.waitFor((e) => e.type === "response.create", {
      from,
      what: "the keys' answer asked for",
    });
    assert.deepEqual(sideband.events.items.slice(from).map((e) => e.type), [
      "response.cancel",
      "conversation.item.create",
      "response.create",
    ]);
    assert.deepEqual(sideband.refused, [], "the answer was accepted");
  } finally {
    await h.close();
  }
});

Deno.test("sip review: key presses due while the sideband reopens reach the agent once it is open", async () => {
  const clock = new FakeClock();
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "live" }, { clock });
  try {
    const events = await callIn(h, sip, "live");
    const id = events.live.data.session_id;
    const first = await sip.sideband(id);
    const [call] = sipCalls(h);
    for (const key of ["3", "9"]) first.press(key);
    await waitUntil(() => clock.scheduledFor(150) === 1, { what: "the key presses" });
    // The sideband drops before the debounce has passed: the keys fall due with none open.
    first.drop();
    await waitUntil(() => clock.scheduledFor(250) === 1, { what: "the reopening, scheduled" });
    clock.tick(150);
    clock.tick(250);
    const again = await sip.sideband(id, 1);
    const said = await again.events.waitFor(
      (e) => e.type === "session.commentary.append" && /pressed the keys/.test(String(e.content)),
      { what: "the keys on the reopened sideband" },
    );
    assert.equal(said.content, "[The caller pressed the keys: 3 9]");
    assert.equal(call.opens, 2);
    assert.deepEqual(call.transcript.entries.map((e) => e.text), [String(said.content)]);
  } finally {
    await h.close();
  }
});
