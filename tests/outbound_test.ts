/**
 * Outbound calls: `POST /api/calls` through the `twilio` SDK (against the fake REST API) to the
 * TwiML Twilio would run, to a socket whose session sees the params; API auth and bad input;
 * status callbacks.
 */

import assert from "node:assert/strict";
import { XMLParser } from "fast-xml-parser";
import { getCallStatus } from "../lib/records/call_status.ts";
import { OUTBOUND_TTL_MS, type OutboundCall } from "../lib/records/outbound_store.ts";
import type { RealtimeCall } from "../lib/realtime/realtime_call.ts";
import type { RelaySession } from "../lib/relay/relay_session.ts";
import { RelayClient } from "./fakes/relay_client.ts";
import { startRealtime } from "./helpers/realtime_harness.ts";
import { type RelayHarness, relayHarness, until } from "./helpers/relay_harness.ts";
import { parametersOf, postSigned, TEST_AUTH_TOKEN } from "./helpers/service.ts";

const TOKEN = "api-token-for-tests";
const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseTagValue: false,
});

type Node = Record<string, unknown>;

function api(url: string, body: unknown, token: string | null = TOKEN): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(`${url}/api/calls`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

Deno.test("outbound: API → Twilio calls.create → TwiML → socket sees the params", async () => {
  const h = await relayHarness({ API_TOKEN: TOKEN });
  try {
    const res = await api(h.svc.url, {
      to: "+15550100444",
      agent: "appointments",
      params: { customerName: "Ada Lovelace", appointment: { day: "Tuesday" } },
    });
    assert.equal(res.status, 201);
    const { callSid, reference } = await res.json();
    const [created] = h.twilioApi.calls.items;
    assert.equal(created.sid, callSid);
    assert.equal(created.to, "+15550100444");
    assert.equal(created.from, "+15550100000");
    assert.equal(created.statusCallback, `${h.svc.url}/twilio/status`);
    assert.deepEqual(created.statusCallbackEvents, [
      "initiated",
      "ringing",
      "answered",
      "completed",
    ]);
    // The TwiML Twilio will run when the callee answers.
    const relay = ((xml.parse(created.twiml) as Node).Response as Node).Connect as Node;
    const element = relay.ConversationRelay as Node;
    assert.match(String(element.welcomeGreeting), /Bright Smile Dental/);
    const params = Object.fromEntries(
      (element.Parameter as Node[]).map((p) => [p.name, p.value]),
    );
    assert.deepEqual(Object.keys(params), ["agent", "reference", "token"]);
    assert.deepEqual([params.agent, params.reference], ["appointments", reference]);
    // Twilio opens the socket with those parameters; the session finds the params in KV.
    const call = await RelayClient.connect(h.svc.url, { authToken: TEST_AUTH_TOKEN });
    call.setup(params as Record<string, string>, {
      direction: "outbound-api",
      from: "+15550100000",
      to: "+15550100444",
    });
    call.prompt("Hello?");
    await call.turn();
    const system = (h.fake.requests[0].body.messages as Node[])[0].content as string;
    assert.match(system, /The caller is probably\s+Ada Lovelace\./);
    assert.match(system, /caller's number is \+15550100000/);
    await call.hangUp();
  } finally {
    await h.close();
  }
});

/** Places an outbound call through the API; the `<Parameter>`s of the TwiML Twilio got. */
async function placeCall(
  h: RelayHarness,
  body: Record<string, unknown>,
): Promise<{ reference: string; parameters: Record<string, string>; twiml: string }> {
  const res = await api(h.svc.url, body);
  assert.equal(res.status, 201);
  const { callSid, reference } = await res.json();
  const created = h.twilioApi.calls.items.find((c) => c.sid === callSid);
  assert.ok(created, "the call was placed");
  return { reference, parameters: parametersOf(created.twiml), twiml: created.twiml };
}

Deno.test("outbound: expired params or an unknown reference are not used", async () => {
  const h = await relayHarness({ API_TOKEN: TOKEN, WELCOME_GREETING: "" });
  try {
    const kv = h.svc.services.kv;
    const body = { to: "+15550100444", agent: "appointments", params: { customerName: "Ada" } };
    const expired = await placeCall(h, body);
    // Still in KV (its expireIn is best effort), but stored longer ago than OUTBOUND_TTL_MS.
    const key = ["outbound", expired.reference];
    const stored = (await kv.get<OutboundCall>(key)).value!;
    await kv.set(key, { ...stored, createdAt: Date.now() - OUTBOUND_TTL_MS - 1000 });
    // Unknown here: another instance's KV, or gone.
    const unknown = await placeCall(h, body);
    await kv.delete(["outbound", unknown.reference]);
    for (const [what, placed] of [["expired", expired], ["unknown", unknown]] as const) {
      const warnings = h.svc.logs.filter((l) => l.event === "call.reference_unknown").length;
      const call = await RelayClient.connect(h.svc.url, { authToken: TEST_AUTH_TOKEN });
      call.setup(placed.parameters, {
        direction: "outbound-api",
        from: "+15550100000",
        to: "+15550100444",
      });
      call.prompt("Hello?");
      // The call goes on, on the agent its TwiML named, without the params.
      assert.equal((await call.turn()).text, "You said: Hello?", what);
      const request = h.fake.requests.at(-1)!;
      const system = (request.body.messages as Node[])[0].content as string;
      assert.match(system, /Bright Smile Dental/, what);
      assert.doesNotMatch(system, /The caller is probably/, what);
      const session = h.svc.services.registry.list()[0] as RelaySession;
      assert.deepEqual(session.context?.call.params, {}, what);
      const logged = h.svc.logs.filter((l) => l.event === "call.reference_unknown");
      assert.equal(logged.length, warnings + 1, `${what}: the unknown reference is logged`);
      assert.equal(logged.at(-1)!.callSid, call.callSid);
      await call.hangUp();
      await until(() => h.svc.services.registry.size === 0, `${what}: call over`);
    }
  } finally {
    await h.close();
  }
});

Deno.test("outbound on the realtime path: the stream's start brings the params", async () => {
  const h = await startRealtime({
    env: { API_TOKEN: TOKEN, TWILIO_PHONE_NUMBER: "+15550100000", REALTIME_GREETING: "" },
  });
  try {
    // The appointments agent answers by ConversationRelay; this call asks for Media Streams.
    const res = await api(h.service.url, {
      to: "+15550100444",
      agent: "appointments",
      mode: "realtime",
      params: { customerName: "Grace Hopper" },
    });
    assert.equal(res.status, 201);
    const { callSid, reference } = await res.json();
    const [created] = h.twilioApi.calls.items;
    assert.equal(created.sid, callSid);
    const ws = h.service.url.replace("http", "ws");
    const connect = ((xml.parse(created.twiml) as Node).Response as Node).Connect as Node;
    assert.equal(connect.action, `${h.service.url}/twilio/stream/action`);
    assert.equal((connect.Stream as Node).url, `${ws}/twilio/stream`);
    assert.ok(!("ConversationRelay" in connect), "no ConversationRelay");
    const parameters = parametersOf(created.twiml);
    assert.deepEqual(Object.keys(parameters), [
      "agent",
      "reference",
      "token",
      "from",
      "to",
      "direction",
    ]);
    assert.deepEqual(
      [
        parameters.agent,
        parameters.reference,
        parameters.from,
        parameters.to,
        parameters.direction,
      ],
      ["appointments", reference, "+15550100000", "+15550100444", "outbound-api"],
    );
    // Twilio opens the stream with the call's SID; its `start` carries the parameters.
    const client = await h.call({ start: false, callSid });
    client.start(parameters);
    const session = await h.fake.session();
    const update = await session.events.waitFor((e) => e.type === "session.update", {
      what: "session.update",
    });
    const instructions = String((update.session as { instructions: string }).instructions);
    assert.match(instructions, /Bright Smile Dental/);
    assert.match(instructions, /The caller is probably\s+Grace Hopper\./);
    assert.match(instructions, /caller's number is \+15550100000/);
    const call = h.service.services.registry.list()[0] as RealtimeCall;
    assert.equal(call.callSid, callSid);
    assert.deepEqual(call.context?.call.params, { customerName: "Grace Hopper" });
    assert.equal(call.context?.call.direction, "outbound-api");
    assert.equal(h.logs("call.reference_unknown").length, 0);
    assert.equal(session.errors.items.length, 0, JSON.stringify(session.errors.items));
  } finally {
    await h.close();
  }
});

Deno.test("outbound: authentication and input errors answer JSON with the right status", async () => {
  const h = await relayHarness({ API_TOKEN: TOKEN });
  try {
    const cases: [unknown, string | null, number, RegExp][] = [
      [{ to: "+15550100444" }, null, 401, /Missing Authorization/],
      [{ to: "+15550100444" }, "wrong", 401, /Invalid API token/],
      ["{not json", TOKEN, 400, /must be JSON/],
      [[1, 2], TOKEN, 400, /JSON object/],
      [{ to: "5550100" }, TOKEN, 400, /E\.164/],
      [{ to: "+15550100444", agent: "nobody" }, TOKEN, 422, /known agent/],
      [{ to: "+15550100444", params: "x" }, TOKEN, 400, /"params" must be a JSON object/],
      [{ to: "+15550100444", params: { blob: "x".repeat(17000) } }, TOKEN, 413, /at most 16384/],
      [{ to: "+15550100444", extra: 1 }, TOKEN, 400, /Unknown field: extra/],
      [{ to: "+15550100444", mode: "video" }, TOKEN, 400, /"mode"/],
    ];
    for (const [body, token, status, message] of cases) {
      const res = await api(h.svc.url, body, token);
      assert.equal(res.status, status, JSON.stringify(body).slice(0, 60));
      assert.match((await res.json()).error, message);
    }
    assert.equal(h.twilioApi.calls.items.length, 0, "no call placed");
    h.twilioApi.failNextCall = 400;
    const refused = await api(h.svc.url, { to: "+15550100444" });
    assert.equal(refused.status, 502);
    assert.match((await refused.json()).error, /Twilio refused the call: .*unverified/);
  } finally {
    await h.close();
  }
});

Deno.test("outbound: without API_TOKEN the API is off", async () => {
  const h = await relayHarness({});
  try {
    const res = await api(h.svc.url, { to: "+15550100444" });
    assert.equal(res.status, 404);
    assert.match((await res.json()).error, /API is off: set API_TOKEN/);
  } finally {
    await h.close();
  }
});

Deno.test("outbound: missing Twilio number or credentials is a clear 503", async () => {
  const h = await relayHarness({ API_TOKEN: TOKEN, TWILIO_PHONE_NUMBER: "" });
  try {
    const res = await api(h.svc.url, { to: "+15550100444" });
    assert.equal(res.status, 503);
    assert.match((await res.json()).error, /TWILIO_PHONE_NUMBER is not set/);
  } finally {
    await h.close();
  }
});

Deno.test("status callbacks update the call's state; a late older one does not win", async () => {
  const h = await relayHarness({});
  try {
    const post = async (params: Record<string, string>) => {
      const res = await postSigned(`${h.svc.url}/twilio/status`, params);
      await res.body?.cancel();
      return res.status;
    };
    const callSid = "CA22222222222222222222222222222222";
    const at = (s: number) => new Date(Date.UTC(2026, 10, 21, 12, 0, s)).toUTCString();
    assert.equal(await post({ CallSid: callSid, CallStatus: "ringing", Timestamp: at(1) }), 204);
    assert.equal(
      await post({ CallSid: callSid, CallStatus: "in-progress", Timestamp: at(5) }),
      204,
    );
    assert.equal(
      await post({
        CallSid: callSid,
        CallStatus: "completed",
        Timestamp: at(65),
        CallDuration: "60",
      }),
      204,
    );
    assert.equal(await post({ CallSid: callSid, CallStatus: "ringing", Timestamp: at(2) }), 204);
    const status = await getCallStatus(h.svc.services.kv, callSid);
    assert.equal(status?.status, "completed");
    assert.equal(status?.durationSeconds, 60);
    assert.deepEqual(status?.history.map((e) => e.status), [
      "ringing",
      "in-progress",
      "completed",
      "ringing",
    ]);
    assert.equal(await post({ CallSid: callSid, CallStatus: "exploded" }), 400);
  } finally {
    await h.close();
  }
});
