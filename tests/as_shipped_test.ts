/**
 * The product exactly as it ships: `main.ts` in its own process with the permission flags of
 * `deno task start` (read from deno.json), talking to the fake Twilio REST API and the fake
 * OpenAI over https and wss with a throwaway CA — the way production talks to the real ones. A
 * user's first path end to end: start, the /config checks, a call on each path, an outbound
 * call, and tools that reach Twilio's REST API.
 */

import assert from "node:assert/strict";
import { XMLParser } from "fast-xml-parser";
import { FakeOpenAI } from "./fakes/fake_openai.ts";
import { FakeRealtime } from "./fakes/fake_realtime.ts";
import { FakeSip, signWebhook, TEST_WEBHOOK_SECRET } from "./fakes/fake_sip.ts";
import { FakeTwilioApi } from "./fakes/fake_twilio_api.ts";
import { MediaStreamsClient } from "./fakes/media_streams_client.ts";
import { RelayClient } from "./fakes/relay_client.ts";
import {
  type MainProcess,
  permissionFlags,
  PROJECT_DIR,
  runFlags,
  startMain,
  taskFlags,
} from "./helpers/main_process.ts";
import { TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, twilioParameters } from "./helpers/service.ts";
import { createTestCa } from "./helpers/test_ca.ts";

const API_TOKEN = "as-shipped-api-token";
const FAST = { audioMs: 200, deltaMs: 100, speed: 8 };
const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseTagValue: false,
  parseAttributeValue: false,
});

Deno.test("permissions: start, dev, setup-number and the Dockerfile's CMD grant the same set", async () => {
  const start = permissionFlags(await taskFlags("start"));
  assert.deepEqual(start, ["-P=service"]);
  assert.deepEqual(permissionFlags(await taskFlags("dev")), start);
  // setup-number talks to Twilio and reads the agents created in KV (SQLite opens it for writing).
  assert.deepEqual(permissionFlags(await taskFlags("setup-number")), start);
  const dockerfile = await Deno.readTextFile(`${PROJECT_DIR}Dockerfile`);
  const cmd = dockerfile.match(/^CMD (\[.*\])$/m);
  assert.ok(cmd, "the Dockerfile has an exec-form CMD");
  assert.deepEqual(permissionFlags(runFlags(JSON.parse(cmd[1]), "the Dockerfile's CMD")), start);

  const sets = JSON.parse(await Deno.readTextFile(`${PROJECT_DIR}deno.json`)).permissions;
  // The twilio SDK's https needs the CA store; the KV file is the only thing written.
  assert.deepEqual(sets.service.sys, ["ca"]);
  assert.deepEqual(sets.service.write, ["data"]);
  assert.deepEqual(Object.keys(sets), ["service"]);
  const kvPath = dockerfile.match(/KV_PATH=(\S+)/)?.[1];
  assert.equal(kvPath, "/app/data/callbridge.kv", "the image keeps its KV where it may write");
});

/** The fakes over TLS, and the shipped service pointed at them. */
async function startShipped(env: Record<string, string> = {}) {
  const ca = await createTestCa();
  const realtime = new FakeRealtime();
  // SIP calls' REST (accept, hangup…) and sidebands, under the same base URL as OpenAI's.
  const sip = new FakeSip();
  realtime.sip = sip;
  const openai = new FakeOpenAI({
    upgrade: (req) => realtime.handle(req),
    rest: (req) => sip.handle(req),
  });
  const openaiUrl = openai.start({ tls: ca.server });
  const twilioApi = new FakeTwilioApi();
  const twilioUrl = twilioApi.start({ tls: ca.server });
  let main: MainProcess;
  try {
    main = await startMain({
      ...ca.env,
      OPENAI_API_KEY: openai.apiKey,
      OPENAI_BASE_URL: openaiUrl,
      OPENAI_MODEL: "gpt-test",
      TWILIO_ACCOUNT_SID: TEST_ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
      TWILIO_API_BASE_URL: twilioUrl,
      TWILIO_PHONE_NUMBER: "+15550100000",
      HANDOFF_NUMBER: "+15550100777",
      API_TOKEN,
      ...env,
    });
  } catch (err) {
    await Promise.all([openai.close(), realtime.close(), twilioApi.close()]);
    throw err;
  }
  return {
    main,
    openai,
    realtime,
    sip,
    twilioApi,
    urls: { openai: openaiUrl, twilio: twilioUrl },
    async close() {
      const status = await main.stop();
      await main.close();
      await Promise.all([openai.close(), realtime.close(), twilioApi.close()]);
      return status;
    },
  };
}

Deno.test("as shipped, over TLS: /config accepts the OpenAI key and the Twilio credentials", async () => {
  const s = await startShipped();
  try {
    assert.match(s.urls.openai, /^https:/);
    assert.match(s.urls.twilio, /^https:/);
    const page = await (await fetch(`${s.main.url}/config`)).text();
    for (const name of ["OpenAI key accepted", "Twilio credentials accepted"]) {
      const check = page.match(new RegExp(`class="check (\\w+)" data-check="${name}">(.*?)</div>`));
      assert.ok(check, `the page shows "${name}"`);
      assert.equal(check[1], "ok", check[0]);
    }
    assert.match(page, /Account &quot;Fake account&quot; \(active\)/);
  } finally {
    assert.equal((await s.close()).code, 0);
  }
});

Deno.test("as shipped, over TLS: a relay call streams the LLM and texts the caller (send_sms)", async () => {
  const s = await startShipped({ WELCOME_GREETING: "" });
  try {
    s.openai.script(
      { toolCalls: [{ name: "send_sms", arguments: '{"body":"Your code is 1234"}' }] },
      { tokens: ["I ", "texted ", "you."] },
    );
    const call = await RelayClient.connect(s.main.url, { authToken: TEST_AUTH_TOKEN });
    call.setup(
      await twilioParameters(s.main.url, {
        callSid: call.callSid,
        from: call.from,
        to: call.to,
        path: "/twilio/voice/relay",
      }),
    );
    call.prompt("Text me my code");
    const turn = await call.turn();
    assert.equal(turn.text, "I texted you.");
    assert.deepEqual(turn.tokens.slice(0, 3), ["I ", "texted ", "you."]);
    const message = await s.twilioApi.messages.waitFor(() => true, { what: "the text" });
    assert.deepEqual([message.to, message.from, message.body], [
      "+15550100123",
      "+15550100000",
      "Your code is 1234",
    ]);
    // Both model requests went over https to the fake.
    assert.equal(s.openai.requests.length, 2);
    await call.hangUp();
  } finally {
    assert.equal((await s.close()).code, 0);
  }
});

/** A realtime call whose second reply makes `calls`; resolves once Twilio got the call update. */
async function realtimeToolCall(
  s: Awaited<ReturnType<typeof startShipped>>,
  calls: { name: string; arguments: string }[],
) {
  const client = await MediaStreamsClient.connect(s.main.url, { authToken: TEST_AUTH_TOKEN });
  const before = s.realtime.sessions.items.length;
  client.start(
    await twilioParameters(s.main.url, {
      callSid: client.callSid,
      from: "+15550100123",
      to: "+15550100999",
      path: "/twilio/voice/realtime",
    }),
  );
  const session = await s.realtime.session(before);
  s.realtime.replies.push(
    { ...FAST, transcript: "Hello!" },
    { ...FAST, transcript: "Okay.", functionCalls: calls },
  );
  await session.events.waitFor((e) => e.type === "response.create", { what: "the greeting" });
  session.speechStarted();
  session.speechStopped("please do it");
  const update = await s.twilioApi.updates.waitFor((u) => u.callSid === client.callSid, {
    what: "the REST update of the call",
    timeoutMs: 10_000,
  });
  await client.closed;
  return { client, update };
}

Deno.test("as shipped, over TLS: realtime end_call hangs up and transfer_to_human dials, through REST", async () => {
  const s = await startShipped();
  try {
    const ended = await realtimeToolCall(s, [{ name: "end_call", arguments: "{}" }]);
    assert.equal(
      ended.update.authorization,
      `Basic ${btoa(`${TEST_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`)}`,
    );
    assert.deepEqual(xml.parse(ended.update.twiml).Response, { Hangup: "" });

    const moved = await realtimeToolCall(s, [
      { name: "transfer_to_human", arguments: '{"summary":"wants a person"}' },
    ]);
    assert.equal(xml.parse(moved.update.twiml).Response.Dial, "+15550100777");
    await s.main.logged("call.redirected", { where: (l) => l.to === "live-agent-handoff" });
  } finally {
    assert.equal((await s.close()).code, 0);
  }
});

Deno.test("as shipped, over TLS: a SIP call's webhook is verified, accepted, and its sideband hangs up", async () => {
  const s = await startShipped({
    OPENAI_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    OPENAI_VOICE_ENGINE: "live",
  });
  try {
    const events = s.sip.incoming({ "X-Callbridge-Agent": "default" });
    const body = JSON.stringify(events.live);
    const res = await fetch(`${s.main.url}/openai/webhook`, {
      method: "POST",
      headers: signWebhook(body, TEST_WEBHOOK_SECRET),
      body,
    });
    assert.deepEqual([res.status, await res.text()], [200, "ok"]);
    // The accept goes out through the SDK over TLS, the sideband over wss, with the start flags.
    const accept = await s.sip.requests.waitFor((r) => r.action === "accept", { what: "accept" });
    assert.equal(accept.status, 200);
    assert.equal((accept.body.session as { type: string }).type, "live");
    const sideband = await s.sip.sideband(accept.id);
    await sideband.events.waitFor((e) => e.type === "session.commentary.append", {
      what: "the greeting",
    });
    sideband.call("end_call", JSON.stringify({ reason: "done" }));
    sideband.agentSays("Goodbye!");
    const hangup = await s.sip.requests.waitFor((r) => r.action === "hangup", {
      what: "hangup",
      timeoutMs: 10_000,
    });
    assert.equal(hangup.status, 200);
    await s.main.logged("sip.hung_up");
  } finally {
    assert.equal((await s.close()).code, 0);
  }
});

Deno.test("as shipped, over TLS: POST /api/calls places the call, whose socket runs with its params", async () => {
  const s = await startShipped({ WELCOME_GREETING: "" });
  try {
    const res = await fetch(`${s.main.url}/api/calls`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        to: "+15550100444",
        agent: "appointments",
        params: { customerName: "Ada" },
      }),
    });
    const body = await res.json();
    assert.equal(res.status, 201, JSON.stringify(body));
    const created = await s.twilioApi.calls.waitFor((c) => c.sid === body.callSid, {
      what: "calls.create",
    });
    assert.deepEqual([created.to, created.from], ["+15550100444", "+15550100000"]);
    // Run the TwiML Twilio got: connect its socket with its parameters.
    const relay = xml.parse(created.twiml).Response.Connect.ConversationRelay;
    const parameters = [relay.Parameter].flat() as { name: string; value: string }[];
    const custom = Object.fromEntries(parameters.map((p) => [p.name, p.value]));
    assert.equal(custom.reference, body.reference);
    s.openai.script({ tokens: ["Hi ", "Ada."] });
    const call = await RelayClient.connect(s.main.url, { authToken: TEST_AUTH_TOKEN });
    call.setup(custom, { direction: "outbound-api", from: "+15550100000", to: "+15550100444" });
    call.prompt("Hello?");
    assert.equal((await call.turn()).text, "Hi Ada.");
    const instructions = JSON.stringify(s.openai.requests[0].body);
    assert.match(instructions, /Ada/, "the outbound params reached the agent's instructions");
    await call.hangUp();
  } finally {
    assert.equal((await s.close()).code, 0);
  }
});
