/**
 * Agent profiles, tools and call control on the realtime path, over real sockets: the profile
 * shapes `session.update`; function calls run and their outputs go back before the model answers;
 * end_call, transfer_to_human, send_dtmf, send_sms and switch_language; silence from playback.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { dtmfMulaw } from "../lib/protocols/dtmf_tones.ts";
import type { RealtimeCall } from "../lib/realtime/realtime_call.ts";
import { waitUntil } from "./fakes/event_log.ts";
import type { ClientEvent } from "./fakes/fake_realtime_session.ts";
import { replyAudio } from "./fakes/realtime_replies.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { type RealtimeHarness, startRealtime } from "./helpers/realtime_harness.ts";

const FAST = { audioMs: 200, deltaMs: 100, speed: 8 };

function bridgeOf(h: RealtimeHarness): RealtimeCall {
  return h.service.services.registry.list()[0] as RealtimeCall;
}

/** Runs one reply of the fake that makes `calls`, after the greeting has played. */
async function callTools(
  h: RealtimeHarness,
  calls: { name: string; arguments: string }[],
  env: { params?: Record<string, string> } = {},
) {
  const client = await h.call({ start: false });
  await h.start(client, {
    agent: "default",
    from: "+15550100123",
    to: "+15550100999",
    extra: env.params,
  });
  const session = await h.fake.session();
  h.fake.replies.push({ ...FAST, transcript: "Hello!" }, { ...FAST, functionCalls: calls });
  await session.events.waitFor((e) => e.type === "response.create", { what: "greeting" });
  session.speechStarted();
  session.speechStopped("do it");
  return { client, session };
}

function outputs(events: ClientEvent[]): { call_id: string; output: string }[] {
  return events
    .filter((e) => e.type === "conversation.item.create")
    .map((e) => e.item as { type: string; call_id: string; output: string })
    .filter((item) => item.type === "function_call_output");
}

Deno.test("realtime: the agent profile shapes session.update (instructions, voice, VAD, tools)", async () => {
  const h = await startRealtime();
  try {
    const client = await h.call({ start: false });
    await h.start(client, { agent: "appointments", from: "+15550100123" });
    const session = await h.fake.session();
    const update = await session.events.waitFor((e) => e.type === "session.update", {
      what: "session.update",
    });
    const s = update.session as Record<string, unknown> & {
      audio: { input: { turn_detection: Record<string, unknown> }; output: { voice: string } };
      tools: { type: string; name: string }[];
    };
    assert.match(String(s.instructions), /Bright Smile Dental/);
    assert.match(String(s.instructions), /caller's number is \+15550100123/);
    assert.equal(s.audio.output.voice, "coral");
    assert.deepEqual(s.audio.input.turn_detection, {
      type: "semantic_vad",
      eagerness: "medium",
      create_response: true,
      interrupt_response: true,
    });
    assert.deepEqual(s.tools.map((t) => t.name), [
      "end_call",
      "transfer_to_human",
      "send_sms",
      "switch_language",
      "find_slots",
      "book_appointment",
      "cancel_appointment",
    ]);
    assert.equal(s.tool_choice, "auto");
    // The profile's greeting is what the model is asked to say first.
    const create = await session.events.waitFor((e) => e.type === "response.create", {
      what: "greeting",
    });
    assert.match(
      String((create.response as { instructions: string }).instructions),
      /Bright Smile Dental/,
    );
    assert.deepEqual(session.droppedInstructions, [], "the greeting speaks as the agent");
    assert.equal(session.errors.items.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("realtime greeting: the agent's instructions come first, then its greeting or a generated one", async () => {
  const h = await startRealtime({ fake: { reply: FAST } });
  try {
    const greetingOf = async (agent: string) => {
      const before = h.fake.sessions.items.length;
      const client = await h.call({ start: false });
      await h.start(client, { agent, from: "+15550100123" });
      const session = await h.fake.session(before);
      const create = await session.events.waitFor((e) => e.type === "response.create", {
        what: `${agent}'s greeting`,
      });
      const update = session.events.items.find((e) => e.type === "session.update")!;
      const own = String((create.response as { instructions: string }).instructions);
      return { own, session: String((update.session as { instructions: string }).instructions) };
    };
    // A profile greeting, rendered over the call's data, said under the agent's instructions.
    const booked = await greetingOf("appointments");
    assert.ok(booked.own.startsWith(booked.session), booked.own);
    assert.match(booked.own, /Say exactly this to the caller.*Hello, you've reached Bright Smile/s);
    // No profile greeting: REALTIME_GREETING, generated under the agent's instructions.
    const plain = await greetingOf("default");
    assert.ok(plain.session.length > 20, "the default agent has instructions");
    assert.equal(
      plain.own,
      `${plain.session}\n\nGreet the caller briefly and ask how you can help.`,
    );
    for (const session of h.fake.sessions.items) assert.deepEqual(session.droppedInstructions, []);
  } finally {
    await h.close();
  }
});

Deno.test("realtime: send_sms runs, its output goes back, then the model answers", async () => {
  const h = await startRealtime({ env: { TWILIO_PHONE_NUMBER: "+15550100000" } });
  try {
    const { session } = await callTools(h, [
      { name: "send_sms", arguments: '{"body":"See you Tuesday"}' },
      { name: "send_dtmf", arguments: '{"digits":"nope"}' },
    ]);
    const message = await h.twilioApi.messages.waitFor(() => true, { what: "SMS" });
    assert.deepEqual([message.to, message.from, message.body], [
      "+15550100123",
      "+15550100000",
      "See you Tuesday",
    ]);
    await waitUntil(() => outputs(session.events.items).length === 2, { what: "two outputs" });
    const [sms, dtmf] = outputs(session.events.items);
    assert.equal(JSON.parse(sms.output).sid, message.sid);
    assert.match(JSON.parse(dtmf.output).error, /Invalid arguments/);
    const afterOutputs = session.events.items.findLastIndex(
      (e) => e.type === "conversation.item.create",
    );
    const answer = await session.events.waitFor((e) => e.type === "response.create", {
      what: "the answer after the tool outputs",
      from: afterOutputs,
    });
    assert.ok(answer);
    assert.equal(session.errors.items.length, 0, JSON.stringify(session.errors.items));
    assert.deepEqual(bridgeOf(h).toolEvents.map((e) => [e.name, e.ok]).sort(), [
      ["send_dtmf", false],
      ["send_sms", true],
    ]);
  } finally {
    await h.close();
  }
});

Deno.test("realtime: end_call hangs up through the REST API once the goodbye has played", async () => {
  const h = await startRealtime();
  try {
    const { client, session } = await callTools(h, [{ name: "end_call", arguments: "{}" }]);
    const bridge = bridgeOf(h);
    h.fake.replies.push({ ...FAST, audioMs: 400, transcript: "Goodbye!" });
    await waitUntil(() => outputs(session.events.items).length === 1, { what: "output" });
    const update = await h.twilioApi.updates.waitFor(() => true, { what: "hang-up" });
    assert.match(update.twiml, /<Response><Hangup\/><\/Response>/);
    // The model was asked for the goodbye once it had the tool's output …
    const types = session.events.items.map((e) => e.type);
    const output = session.events.items.findIndex((e) => outputs([e]).length === 1);
    assert.ok(output > 0 && types.indexOf("response.create", output) > output, types.join(", "));
    // … and the goodbye was said (after the end_call) and heard before the hang-up: no audio can
    // come once the stream is left, so what was received by the hang-up is all of it.
    const said = bridge.transcript.filter((e) => e.role === "agent").map((e) => e.text);
    assert.equal(said.at(-1), "Goodbye!", JSON.stringify(said));
    const goodbye = replyAudio(h.fake.replySeeds.at(-1)!, 400 * 8);
    const heard = Buffer.concat(client.audio.map((p) => Buffer.from(p, "base64")));
    assert.ok(heard.subarray(-goodbye.length).equals(goodbye), "the goodbye's audio, all of it");
    // Every byte of the goodbye had been played (its marks echoed) before the hang-up.
    assert.equal(client.playedBytes(), client.receivedBytes);
    assert.deepEqual(h.logs("call.end").map((l) => l.reason), ["agent-ended"]);
    await client.closed;
  } finally {
    await h.close();
  }
});

Deno.test("realtime: transfer_to_human replaces the call's TwiML with a <Dial>", async () => {
  const h = await startRealtime({ env: { HANDOFF_NUMBER: "+15550100777" } });
  try {
    await callTools(h, [{ name: "transfer_to_human", arguments: '{"summary":"wants a human"}' }]);
    const update = await h.twilioApi.updates.waitFor(() => true, { what: "transfer" });
    assert.match(update.twiml, /<Dial>\+15550100777<\/Dial>/);
  } finally {
    await h.close();
  }
});

Deno.test("realtime: send_dtmf plays the tones into the stream as µ-law", async () => {
  const h = await startRealtime();
  try {
    const { client } = await callTools(h, [{ name: "send_dtmf", arguments: '{"digits":"1#"}' }]);
    const expected = Buffer.from(dtmfMulaw("1#"));
    const heard = () => Buffer.concat(client.audio.map((p) => Buffer.from(p, "base64")));
    await waitUntil(() => heard().includes(expected), { what: "the DTMF tones, byte for byte" });
    const all = heard();
    assert.equal(all.indexOf(expected), all.lastIndexOf(expected), "played once");
  } finally {
    await h.close();
  }
});

Deno.test("realtime: switch_language updates the instructions", async () => {
  const h = await startRealtime();
  try {
    const { session } = await callTools(h, [
      { name: "switch_language", arguments: '{"language":"es-ES"}' },
    ]);
    const update = await session.events.waitFor(
      (e) => e.type === "session.update" && /speak es-ES/.test(JSON.stringify(e)),
      { what: "instructions update" },
    );
    assert.ok(update);
    assert.equal(session.errors.items.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("realtime silence: reminders after playback, speech resets, then unresponsive hang-up", async () => {
  const clock = new FakeClock();
  const h = await startRealtime({ clock, fake: { reply: FAST } });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    const creates = () => session.events.items.filter((e) => e.type === "response.create").length;
    // The greeting plays in full; only then does silence count.
    await client.echoes.waitFor(
      () => client.playedBytes() === 200 * 8 && client.receivedBytes === 1600,
      {
        what: "greeting played",
      },
    );
    await waitUntil(() => clock.scheduledFor(10_000) === 1, { what: "silence timer armed" });
    clock.tick(10_000);
    await waitUntil(() => creates() === 2, { what: "first reminder" });
    const reminder = session.events.items.filter((e) => e.type === "response.create")[1];
    assert.match(JSON.stringify(reminder), /Are you still there\?/);
    // The caller speaks: the count starts again.
    await client.echoes.waitFor(
      () => client.playedBytes() === client.receivedBytes && creates() === 2,
      {
        what: "reminder played",
      },
    );
    session.speechStarted();
    session.speechStopped("sorry, yes");
    await waitUntil(() => creates() === 2 && bridgeOf(h).turns.length === 3, { what: "answer" });
    for (let i = 0; i < 3; i++) {
      const before = creates();
      await waitUntil(() => clock.scheduledFor(10_000) === 1 && !session.activeResponse, {
        what: `quiet ${i}`,
      });
      clock.tick(10_000);
      await waitUntil(() => creates() === before + 1, { what: `prompt ${i}` });
    }
    const last = session.events.items.filter((e) => e.type === "response.create").at(-1);
    assert.match(JSON.stringify(last), /end the call now/);
    assert.deepEqual(session.droppedInstructions, [], "reminders and goodbye speak as the agent");
    const update = await h.twilioApi.updates.waitFor(() => true, { what: "hang-up" });
    assert.match(update.twiml, /<Hangup\/>/);
    assert.deepEqual(h.logs("call.end").map((l) => l.reason), ["unresponsive"]);
  } finally {
    await h.close();
  }
});
