/**
 * Tools on the ConversationRelay path, over real sockets: function calling in both API styles,
 * every built-in, HTTP tools, the filler for slow tools, and hand-off end to end.
 */

import assert from "node:assert/strict";
import { XMLParser } from "fast-xml-parser";
import { relayHarness, within } from "./helpers/relay_harness.ts";
import { postSigned } from "./helpers/service.ts";
import type { RelaySession } from "../lib/relay/relay_session.ts";
import { FILLER } from "../lib/calls/phrases.ts";

type Json = Record<string, unknown>;

/** Tool outputs the model was given, by API style, in order. */
function toolOutputs(body: Json): string[] {
  const items = (body.messages ?? body.input) as Json[];
  return items
    .filter((m) => m.role === "tool" || m.type === "function_call_output")
    .map((m) => String(m.content ?? m.output));
}

function session(h: { svc: { services: { registry: { list(): unknown[] } } } }): RelaySession {
  return h.svc.services.registry.list()[0] as RelaySession;
}

/** Writes a profile folder with an HTTP tool pointing at `url`; returns AGENTS_DIR. */
async function agentsWithHttpTool(url: string, timeoutMs = 2000): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const name of ["default", "clinic"]) {
    await Deno.mkdir(`${dir}/${name}`);
    // The tool's endpoint is the test's, on loopback: the profile allows that.
    await Deno.writeTextFile(
      `${dir}/${name}/agent.json`,
      JSON.stringify({ greeting: "", allowPrivateNetwork: true }),
    );
    await Deno.writeTextFile(`${dir}/${name}/instructions.md`, `You are ${name}.`);
  }
  await Deno.writeTextFile(
    `${dir}/clinic/tools.json`,
    JSON.stringify([{
      name: "find_slots",
      description: "Free slots on a day",
      parameters: {
        type: "object",
        properties: { date: { type: "string" } },
        required: ["date"],
      },
      url,
      method: "POST",
      timeoutMs,
    }]),
  );
  return dir;
}

for (const api of ["chat", "responses"] as const) {
  Deno.test(`${api}: parallel tool calls run, then the follow-up answer streams`, async () => {
    const h = await relayHarness({ OPENAI_API: api, WELCOME_GREETING: "" });
    try {
      h.fake.script(
        {
          tokens: ["Let me ", "do that."],
          toolCalls: [
            { name: "send_dtmf", arguments: '{"digits":"12#"}' },
            { name: "switch_language", arguments: '{"language":"es-ES"}' },
          ],
        },
        { tokens: ["Listo."] },
      );
      const call = await h.call();
      call.prompt("Press one two hash and speak Spanish");
      const digits = await call.next((m) => m.type === "sendDigits");
      assert.equal(digits.digits, "12#");
      const language = await call.next((m) => m.type === "language");
      assert.deepEqual(language, {
        type: "language",
        ttsLanguage: "es-ES",
        transcriptionLanguage: "es-ES",
      });
      const turn = await call.turn();
      assert.equal(turn.text, "Listo.");
      const texts = call.received.filter((m) => m.type === "text").map((m) => m.token);
      assert.deepEqual(texts, ["Let me ", "do that.", "Listo.", ""]);
      const followUp = h.fake.requests[1].body;
      const outputs = toolOutputs(followUp).map((o) => JSON.parse(o));
      assert.deepEqual(outputs, [{ ok: true, sent: "12#" }, { ok: true, language: "es-ES" }]);
      if (api === "chat") {
        const tools = h.fake.requests[0].body.tools as Json[];
        assert.ok(tools.some((t) => (t.function as Json).name === "end_call"));
      } else {
        const tools = h.fake.requests[0].body.tools as Json[];
        assert.ok(tools.some((t) => t.name === "transfer_to_human"));
      }
      assert.deepEqual(session(h).toolEvents.map((e) => [e.name, e.ok]), [
        ["send_dtmf", true],
        ["switch_language", true],
      ]);
    } finally {
      await h.close();
    }
  });
}

Deno.test("end_call: the goodbye is heard in full, then the call ends", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    h.fake.script(
      {
        tokens: ["Goodbye, ", "take care!"],
        toolCalls: [{ name: "end_call", arguments: '{"reason":"done"}' }],
      },
      { tokens: [] },
    );
    const call = await h.call();
    call.speaking("agent", false); // the greeting slot
    call.prompt("That's all, thanks");
    assert.equal((await call.turn()).text, "Goodbye, take care!");
    await within(h.fake.waitForRequests(2), 2000, "follow-up request");
    // Still speaking: no `end` yet.
    call.speaking("agent", true);
    assert.equal(session(h).endReason, null);
    assert.ok(!call.received.some((m) => m.type === "end"));
    call.speaking("agent", false);
    const end = await call.next((m) => m.type === "end");
    assert.deepEqual(JSON.parse(String(end.handoffData)), {
      reason: "agent-ended",
      detail: "done",
    });
    assert.equal((await call.closed).code, 1000);
  } finally {
    await h.close();
  }
});

Deno.test("transfer_to_human end to end: end with hand-off data → action → <Dial>", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "", HANDOFF_NUMBER: "+15550100777" });
  try {
    h.fake.script(
      {
        tokens: ["Connecting you now."],
        toolCalls: [{ name: "transfer_to_human", arguments: '{"summary":"billing dispute"}' }],
      },
      { tokens: [] },
    );
    const call = await h.call();
    call.prompt("I want a person");
    await call.turn();
    await within(h.fake.waitForRequests(2), 2000, "follow-up request");
    call.speaking("agent", false);
    const end = await call.next((m) => m.type === "end");
    const handoffData = String(end.handoffData);
    assert.deepEqual(JSON.parse(handoffData), {
      reason: "live-agent-handoff",
      number: "+15550100777",
      summary: "billing dispute",
    });
    // Twilio then calls the action URL with the hand-off data.
    const params = {
      CallSid: call.callSid,
      SessionStatus: "ended",
      SessionId: "VX1",
      HandoffData: handoffData,
    };
    const res = await postSigned(`${h.svc.url}/twilio/relay/action?agent=default`, params);
    const doc = new XMLParser({ parseTagValue: false }).parse(await res.text());
    assert.equal(doc.Response.Dial, "+15550100777");
  } finally {
    await h.close();
  }
});

Deno.test("transfer_to_human with nobody to dial is reported to the model; the call goes on", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    h.fake.script(
      { toolCalls: [{ name: "transfer_to_human", arguments: '{"summary":"x"}' }] },
      { tokens: ["Nobody is free, sorry."] },
    );
    const call = await h.call();
    call.prompt("A human please");
    assert.equal((await call.turn()).text, "Nobody is free, sorry.");
    const [output] = toolOutputs(h.fake.requests[1].body);
    assert.match(JSON.parse(output).error, /Nobody is available/);
    assert.equal(session(h).endReason, null);
  } finally {
    await h.close();
  }
});

Deno.test("send_sms texts the caller through Twilio's Messages API", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    h.fake.script(
      { toolCalls: [{ name: "send_sms", arguments: '{"body":"Your booking: Tue 2pm"}' }] },
      { tokens: ["Sent."] },
    );
    const call = await h.call();
    call.prompt("Text me the details");
    await call.turn();
    const [message] = h.twilioApi.messages.items;
    assert.deepEqual(
      { to: message.to, from: message.from, body: message.body },
      { to: "+15550100123", from: "+15550100000", body: "Your booking: Tue 2pm" },
    );
    const [output] = toolOutputs(h.fake.requests[1].body);
    assert.equal(JSON.parse(output).sid, message.sid);
  } finally {
    await h.close();
  }
});

Deno.test("invalid tool arguments are reported to the model and the tool does not run", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    h.fake.script(
      { toolCalls: [{ name: "send_dtmf", arguments: '{"digits":"call mom"}' }] },
      { tokens: ["Sorry, I can't press those."] },
    );
    const call = await h.call();
    call.prompt("press call mom");
    await call.turn();
    assert.ok(!call.received.some((m) => m.type === "sendDigits"));
    const [output] = toolOutputs(h.fake.requests[1].body);
    assert.match(JSON.parse(output).error, /Invalid arguments: \/digits must match pattern/);
  } finally {
    await h.close();
  }
});

Deno.test("HTTP tool: signed request, slow answer → filler, then the answer goes to the model", async () => {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const seen: { body: string; signature: string | null; timestamp: string | null }[] = [];
  const endpoint = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    async (req) => {
      seen.push({
        body: await req.text(),
        signature: req.headers.get("x-callbridge-signature"),
        timestamp: req.headers.get("x-callbridge-timestamp"),
      });
      await released;
      return Response.json({ slots: ["09:00", "14:30"] });
    },
  );
  const dir = await agentsWithHttpTool(`http://127.0.0.1:${endpoint.addr.port}/slots`);
  const h = await relayHarness({
    AGENTS_DIR: dir,
    TOOLS_SIGNING_SECRET: "s3cret",
    TOOL_FILLER_MS: "50",
  });
  try {
    h.fake.script(
      { toolCalls: [{ name: "find_slots", arguments: '{"date":"2026-12-01"}' }] },
      { tokens: ["Nine or half past two."] },
    );
    const call = await h.call({ agent: "clinic" });
    call.prompt("Any slots on the first?");
    const filler = await call.next((m) => m.type === "text");
    assert.deepEqual(filler, { type: "text", token: FILLER, last: true, preemptible: true });
    release();
    assert.equal((await call.turn()).text, "Nine or half past two.");
    assert.equal(seen.length, 1);
    assert.equal(seen[0].body, '{"date":"2026-12-01"}');
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode("s3cret"),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(
      await crypto.subtle.sign(
        "HMAC",
        key,
        new TextEncoder().encode(`${seen[0].timestamp}.${seen[0].body}`),
      ),
    );
    const hex = [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(seen[0].signature, `sha256=${hex}`);
    assert.deepEqual(JSON.parse(toolOutputs(h.fake.requests[1].body)[0]), {
      slots: ["09:00", "14:30"],
    });
  } finally {
    release();
    await h.close();
    await endpoint.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HTTP tool failure (HTTP 500) is reported to the model; the call goes on", async () => {
  const endpoint = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    () => new Response("database down", { status: 500 }),
  );
  const dir = await agentsWithHttpTool(`http://127.0.0.1:${endpoint.addr.port}/slots`);
  const h = await relayHarness({ AGENTS_DIR: dir });
  try {
    h.fake.script(
      { toolCalls: [{ name: "find_slots", arguments: '{"date":"2026-12-01"}' }] },
      { tokens: ["The booking system is down."] },
    );
    const call = await h.call({ agent: "clinic" });
    call.prompt("Slots?");
    assert.equal((await call.turn()).text, "The booking system is down.");
    const output = JSON.parse(toolOutputs(h.fake.requests[1].body)[0]);
    assert.match(output.error, /HTTP 500: database down/);
    call.prompt("ok");
    assert.equal((await call.turn()).text, "You said: ok");
  } finally {
    await h.close();
    await endpoint.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interrupt while a tool runs: the history stays valid for the next request", async () => {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let arrived = () => {};
  const endpoint = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async () => {
    arrived();
    await released;
    return Response.json({ slots: [] });
  });
  const dir = await agentsWithHttpTool(`http://127.0.0.1:${endpoint.addr.port}/slots`);
  for (const api of ["chat", "responses"]) {
    const h = await relayHarness({ AGENTS_DIR: dir, OPENAI_API: api, TOOL_FILLER_MS: "60000" });
    try {
      h.fake.script({ toolCalls: [{ name: "find_slots", arguments: '{"date":"2026-12-02"}' }] });
      const toolRunning = new Promise<void>((resolve) => (arrived = resolve));
      const call = await h.call({ agent: "clinic" });
      call.prompt("Slots on the second?");
      await within(toolRunning, 2000, "the tool is running");
      call.interrupt("", 0);
      call.prompt("Never mind, what are your hours?");
      // The fake rejects a history with an unanswered tool call; an answer means it was valid.
      assert.equal((await call.turn()).text, "You said: Never mind, what are your hours?");
      assert.match(toolOutputs(h.fake.requests[1].body)[0], /interrupted/);
    } finally {
      await h.close();
    }
  }
  release();
  await endpoint.shutdown();
  await Deno.remove(dir, { recursive: true });
});
