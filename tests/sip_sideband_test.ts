/**
 * The sideband of each accepted SIP call, over real sockets, with the real `openai` SDK's REST
 * calls against the fake: a Live call (`…/attach`) and a Realtime call (`?call_id=`) each greet
 * under the agent's instructions, run a tool from the agent's tool set and record the transcript,
 * latency and usage; `end_call` hangs up after the goodbye, `transfer_to_human` refers the call
 * to the hand-off number; the call is live in the registry and `/metrics` meanwhile; a sideband
 * that drops is reopened, and one that cannot be reopened leaves the call recorded as failed.
 */

import assert from "node:assert/strict";
import { waitUntil } from "./fakes/event_log.ts";
import { FakeSip } from "./fakes/fake_sip.ts";
import type { RealtimeHarness } from "./helpers/realtime_harness.ts";
import { deliver, dialedHeaders, startSip } from "./helpers/sip_harness.ts";
import { eventually } from "./helpers/relay_harness.ts";
import type { SipCall } from "../lib/sip/sip_call.ts";
import { GOODBYE_QUIET_MS } from "../lib/sip/sip_goodbye.ts";

/** The service in SIP mode on `engine`. */
function startSipOn(engine: "live" | "realtime", env: Record<string, string> = {}) {
  return startSip({ OPENAI_VOICE_ENGINE: engine, ...env });
}

/** A SIP call to `agent` through the voice webhook, accepted; returns its sideband and call. */
async function sipCall(h: RealtimeHarness, sip: FakeSip, agent: string) {
  const events = sip.incoming(await dialedHeaders(h, agent));
  for (const event of [events.live, events.realtime]) await deliver(h, event);
  const accept = await sip.requests.waitFor((r) => r.action === "accept", { what: "accept" });
  const sideband = await sip.sideband(accept.id);
  const call = h.service.services.registry.list().find((c) => c.mode === "sip") as SipCall;
  assert.ok(call, "the SIP call is live in the registry");
  return { sideband, call, id: accept.id };
}

async function recordOf(h: RealtimeHarness, id: string) {
  const store = h.service.services.records.store;
  await eventually(async () => (await store.getRecord(id))?.outcome !== "live", "record ended");
  return (await store.getDetail(id))!;
}

Deno.test("sip sideband, live: greeting, a tool, end_call hangs up after the goodbye", async () => {
  const { h, sip } = await startSipOn("live");
  try {
    const { sideband, call, id } = await sipCall(h, sip, "appointments");
    const greeting = await sideband.events.waitFor((e) => e.type === "session.commentary.append", {
      what: "greeting",
    });
    assert.match(String(greeting.content), /Say exactly this.*Bright Smile/s);
    const metrics = await (await fetch(`${h.service.url}/metrics`)).text();
    assert.match(metrics, /callbridge_active_calls\{mode="sip"\} 1/);
    sideband.agentSays("Hello, Bright Smile Dental.");
    sideband.callerSays("Any slots on March fifth?");
    sideband.call("find_slots", JSON.stringify({ date: "2030-03-05" }));
    const output = await sideband.events.waitFor((e) => e.type === "response.item.create", {
      what: "the tool's output",
    });
    assert.match(String((output.item as { output: string }).output), /2030-03-05T09:00/);
    await sideband.events.waitFor((e) => e.type === "response.create", { what: "continued" });
    sideband.agentSays("Nine is free.");
    sideband.callerSays("Thanks, bye.");
    sideband.call("end_call", JSON.stringify({ reason: "done" }));
    await sideband.events.waitFor((e) => e.type === "response.create", { from: 2, what: "bye" });
    sideband.agentSays("Goodbye!");
    const started = performance.now();
    const hangup = await sip.requests.waitFor((r) => r.action === "hangup", {
      what: "hangup",
      timeoutMs: GOODBYE_QUIET_MS + 3000,
    });
    assert.ok(performance.now() - started >= GOODBYE_QUIET_MS - 50, "after the goodbye");
    assert.equal(hangup.id, id);
    assert.equal(hangup.status, 200);
    const detail = await recordOf(h, call.id);
    assert.equal(detail.record.mode, "sip");
    assert.equal(detail.record.outcome, "agent-ended");
    const lines = detail.transcript.map((t) => `${t.role}: ${t.text}`);
    assert.deepEqual(lines, [
      "agent: Hello, Bright Smile Dental.",
      "caller: Any slots on March fifth?",
      "agent: Nine is free.",
      "caller: Thanks, bye.",
      "agent: Goodbye!",
    ]);
    const tools = detail.events.filter((e) => e.type === "tool").map((e) => e.data?.name);
    assert.deepEqual(tools, ["find_slots", "end_call"]);
    assert.ok(detail.latencies.some((l) => l.latencyMs !== null), "a latency was measured");
    assert.equal(detail.record.inputTokens, 20);
    assert.ok(detail.events.some((e) => e.data?.liveAudioSeconds === 7));
    assert.equal(h.service.services.registry.size, 0);
  } finally {
    await h.close();
  }
});

Deno.test("sip sideband, live: a recorded agent's session is stored by OpenAI and plays on its page", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/default`);
  await Deno.writeTextFile(`${dir}/default/instructions.md`, "You are the front desk.");
  await Deno.writeTextFile(`${dir}/default/agent.json`, JSON.stringify({ record: true }));
  const { h, sip } = await startSipOn("live", { AGENTS_DIR: dir });
  try {
    const { sideband, call, id } = await sipCall(h, sip, "default");
    const accept = sip.of("accept")[0];
    assert.equal((accept.body.session as { store?: boolean }).store, true);
    sideband.agentSays("Hello.");
    call.end("admin-ended");
    await sip.requests.waitFor((r) => r.action === "hangup", { what: "hangup" });
    const detail = await recordOf(h, call.id);
    assert.equal(detail.record.recording?.source, "openai");
    assert.equal(detail.record.recording?.sid, id);
    assert.equal(detail.record.recording?.status, "completed");
    // The page's player and the API stream OpenAI's bytes (downloadRecording), nothing else.
    const media = await fetch(`${h.service.url}/calls/${call.id}/recording`);
    assert.equal(media.status, 200);
    assert.equal(media.headers.get("cache-control"), "private, no-store");
    assert.deepEqual(new Uint8Array(await media.arrayBuffer()), FakeSip.recordingOf(id));
    const page = await (await fetch(`${h.service.url}/calls/${call.id}`)).text();
    assert.match(page, new RegExp(`<audio[^>]*src="/calls/${call.id}/recording"`));
    assert.equal(h.twilioApi.recordings.items.length, 0, "Twilio does not record it too");
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sip sideband, live: an agent that does not record is not stored, and has no recording", async () => {
  const { h, sip } = await startSipOn("live");
  try {
    const { call, id } = await sipCall(h, sip, "default");
    assert.equal((sip.of("accept")[0].body.session as { store?: boolean }).store, undefined);
    call.end("admin-ended");
    await sip.requests.waitFor((r) => r.action === "hangup", { what: "hangup" });
    assert.equal((await recordOf(h, call.id)).record.recording ?? null, null);
    assert.equal((await fetch(`${h.service.url}/calls/${call.id}/recording`)).status, 404);
    // Nor does OpenAI have one to give (the real SDK's downloadRecording).
    await assert.rejects(
      h.service.services.liveSessions!.downloadRecording(id),
      (err: { status?: number }) => err.status === 404,
    );
  } finally {
    await h.close();
  }
});

Deno.test("sip sideband, realtime: transfer_to_human refers the call to the hand-off number", async () => {
  const { h, sip } = await startSipOn("realtime");
  try {
    const { sideband, call, id } = await sipCall(h, sip, "default");
    const greeting = await sideband.events.waitFor((e) => e.type === "response.create", {
      what: "greeting",
    });
    const instructions = String((greeting.response as { instructions?: string }).instructions);
    assert.ok(instructions.startsWith(call.context.instructions), "under the agent's instructions");
    sideband.callerSays("A person, please.");
    sideband.call("transfer_to_human", JSON.stringify({ summary: "wants a person" }));
    const output = await sideband.events.waitFor((e) => e.type === "conversation.item.create", {
      what: "the tool's output",
    });
    assert.equal((output.item as { type: string }).type, "function_call_output");
    sideband.agentSays("Putting you through.");
    const refer = await sip.requests.waitFor((r) => r.action === "refer", {
      what: "refer",
      timeoutMs: GOODBYE_QUIET_MS + 3000,
    });
    assert.equal(refer.id, id);
    assert.deepEqual(refer.body, { target_uri: "tel:+15550100200" });
    assert.equal(refer.status, 200);
    const detail = await recordOf(h, call.id);
    assert.equal(detail.record.outcome, "live-agent-handoff");
    assert.ok(detail.events.some((e) => e.type === "handoff"));
    assert.equal(sip.of("hangup").length, 0, "referred, not hung up");
  } finally {
    await h.close();
  }
});

Deno.test("sip sideband: a drop is reopened; when reopening fails the call is recorded failed", async () => {
  const { h, sip } = await startSipOn("live");
  try {
    const { sideband, call, id } = await sipCall(h, sip, "default");
    await waitUntil(() => call.opens === 1, { what: "open" });
    sideband.drop();
    const again = await sip.sideband(id, 1);
    await waitUntil(() => call.opens === 2, { what: "reopened" });
    again.callerSays("Still there?");
    await waitUntil(() => call.transcript.entries.some((t) => t.text === "Still there?"), {
      what: "the reopened sideband carries the call",
    });
    // Now it drops and cannot come back.
    sip.refuseSidebands = 500;
    again.drop();
    const detail = await recordOf(h, call.id);
    assert.equal(detail.record.outcome, "sideband-failed");
    assert.ok(detail.events.some((e) => e.type === "error"));
    assert.equal(call.opens, 4, "the first, one reopening that held, two that failed");
    assert.equal(h.service.services.registry.size, 0);
  } finally {
    await h.close();
  }
});
