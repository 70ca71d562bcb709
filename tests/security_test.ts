/**
 * What an attacker, or a prompt-injected model, can make the service do — over real sockets,
 * one test per protection SECURITY.md lists: per-call socket tokens and the set-up timeout, the
 * outbound API's rate limit and destinations, errors before the signature check, masked numbers
 * in logs and answers, bounded setup fields, credentials kept off /config, PUBLIC_URL in
 * production. (SMS pumping and HTTP tools are in tools_test.ts; admin access and logins in
 * admin_routes_test.ts; simulator tokens there too.)
 */

import assert from "node:assert/strict";
import { loadConfig } from "../lib/platform/config.ts";
import { waitUntil } from "./fakes/event_log.ts";
import { MediaStreamsClient } from "./fakes/media_streams_client.ts";
import { newCallSid, RelayClient } from "./fakes/relay_client.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { callerFrame, startRealtime } from "./helpers/realtime_harness.ts";
import { relayHarness } from "./helpers/relay_harness.ts";
import {
  postSigned,
  startService,
  TEST_AUTH_TOKEN,
  type TestService,
  twilioParameters,
} from "./helpers/service.ts";

function limitHits(svc: TestService, limit: string): number {
  return svc.services.limitHits.get(limit) ?? 0;
}

Deno.test("call tokens: a relay socket with a captured signature but no valid token is closed, believing nothing", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    const live = await h.call();
    live.prompt("one");
    await live.turn();
    const good = await twilioParameters(h.svc.url, {
      callSid: live.callSid,
      from: live.from,
      to: live.to,
      path: "/twilio/voice/relay",
    });
    const attempts: [string, Record<string, string>, Record<string, unknown>][] = [
      ["no token", { agent: "default" }, {}],
      ["a forged token", { ...good, token: `${good.token.slice(0, -4)}AAAA` }, {}],
      ["another call's token", good, { callSid: newCallSid() }],
      ["another caller", good, { from: "+15550100666" }],
      ["another agent", { ...good, agent: "appointments" }, {}],
      ["an invented reference", { ...good, reference: "ref-1" }, {}],
    ];
    for (const [what, parameters, extra] of attempts) {
      // The upgrade's signature is the same for every call: it is what an attacker captured.
      const socket = await RelayClient.connect(h.svc.url, { authToken: TEST_AUTH_TOKEN });
      socket.setup(parameters, { callSid: live.callSid, ...extra });
      socket.prompt("I am not who I say");
      // Closed 4001 "unauthenticated" (or reset, when the prompt crossed the close frame).
      const closed = await socket.closed;
      assert.ok([4001, 1006].includes(closed.code), `${what}: ${closed.code}`);
      assert.equal(socket.received.length, 0, `${what}: nothing was said`);
    }
    assert.equal(limitHits(h.svc, "call_token"), attempts.length);
    assert.equal(
      h.svc.logs.filter((l) => l.event === "call.token_rejected").length,
      attempts.length,
    );
    // The live call was neither superseded nor recorded twice.
    live.prompt("still me");
    assert.equal((await live.turn()).text, "You said: still me");
    assert.equal((await h.svc.services.records.store.findBySid(live.callSid)).length, 1);
    assert.equal(h.fake.requests.length, 2, "no model request for an unauthenticated socket");
  } finally {
    await h.close();
  }
});

Deno.test("call tokens: a media stream without a valid token is closed before any upstream session", async () => {
  const h = await startRealtime({ env: { REALTIME_GREETING: "" } });
  try {
    const live = await h.call();
    const session = await h.fake.session(0);
    await session.events.waitFor((e) => e.type === "session.update", { what: "configured" });
    const good = await twilioParameters(h.service.url, {
      callSid: live.callSid,
      path: "/twilio/voice/realtime",
    });
    const forgeries: Record<string, string>[] = [
      { agent: "default" },
      { ...good, from: "+15550100666" },
    ];
    for (const parameters of forgeries) {
      const forged = await MediaStreamsClient.connect(h.service.url, {
        authToken: TEST_AUTH_TOKEN,
        callSid: live.callSid,
      });
      forged.start(parameters);
      forged.media(callerFrame(1));
      await forged.closed;
    }
    assert.equal(h.fake.upgrades.items.length, 1, "only the real call reached OpenAI");
    assert.equal(h.service.services.limitHits.get("call_token"), 2);
    assert.ok(live.open, "the real call was not superseded");
    assert.equal((await h.service.services.records.store.findBySid(live.callSid)).length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("a media stream that sends no start within the set-up timeout is closed", async () => {
  const clock = new FakeClock();
  const h = await startRealtime({ clock, env: { TWILIO_SETUP_TIMEOUT_SECONDS: "5" } });
  try {
    const idle = await h.call({ start: false });
    await waitUntil(() => h.service.services.registry.size === 1, { what: "socket taken" });
    clock.tick(4_999);
    assert.ok(idle.open);
    clock.tick(1);
    await idle.closed;
    assert.equal(h.service.services.limitHits.get("setup_timeout"), 1);
    assert.equal(h.fake.upgrades.items.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("setup fields: a malformed or over-long callSid, or huge parameters, are dropped unrecorded", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    const socket = await RelayClient.connect(h.svc.url, { authToken: TEST_AUTH_TOKEN });
    socket.setup({ agent: "default" }, { callSid: `CA${"f".repeat(3000)}` });
    socket.setup({ agent: "x".repeat(2000) });
    socket.setup(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, "v"])));
    await waitUntil(
      () => h.svc.logs.filter((l) => l.event === "relay.frame_dropped").length === 3,
      { what: "three setups dropped" },
    );
    const errors = h.svc.logs.filter((l) => l.event === "relay.frame_dropped").map((l) => l.error);
    assert.deepEqual(errors, [
      "setup with a malformed callSid",
      "setup with a custom parameter is too long",
      "setup with more than 32 custom parameters",
    ]);
    assert.equal(h.svc.services.records.openCount, 0, "nothing recorded");
    await socket.hangUp();
    for (const path of [`/calls/CA${"f".repeat(3000)}`, `/agents/${"x".repeat(3000)}/versions/1`]) {
      const res = await fetch(`${h.svc.url}${path}`);
      assert.equal(res.status, 404, path.slice(0, 20));
      await res.body?.cancel();
    }
    assert.ok(!h.svc.logs.some((l) => l.level === "error"), "no error-level line");
  } finally {
    await h.close();
  }
});

Deno.test("errors before the signature check are 400/403, never 500, and log no error", async () => {
  const svc = await startService();
  try {
    const multipart = await fetch(`${svc.url}/twilio/status`, {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=zzz", "x-twilio-signature": "x" },
      body: '--zzz\r\nContent-Disposition: form-data; name="CallSid"\r\n\r\nCA1\r\n--zz',
    });
    assert.ok([400, 403].includes(multipart.status), `multipart: ${multipart.status}`);
    await multipart.body?.cancel();
    for (const token of ["cbsim.9999999999999.AAAAAAAAAAAAAAAA.A", "cbsim.1.2.%%%"]) {
      const res = await fetch(
        `${svc.url.replace("http", "ws")}/twilio/relay`.replace("ws", "http"),
        {
          headers: {
            upgrade: "websocket",
            connection: "Upgrade",
            "sec-websocket-version": "13",
            "sec-websocket-key": btoa("0123456789abcdef"),
            "sec-websocket-protocol": `callbridge-simulator, ${token}`,
            origin: svc.url,
          },
        },
      );
      assert.equal(res.status, 403, token);
      await res.body?.cancel();
    }
    assert.deepEqual(svc.logs.filter((l) => l.level === "error"), []);
  } finally {
    await svc.close();
  }
});

Deno.test("outbound API: a rate limit with Retry-After, premium-rate numbers refused, allowed prefixes", async () => {
  const h = await relayHarness({
    API_TOKEN: "api-secret",
    API_CALLS_PER_MINUTE: "3",
    OUTBOUND_ALLOWED_PREFIXES: "+1555,+44",
  });
  try {
    const place = (to: string) =>
      fetch(`${h.svc.url}/api/calls`, {
        method: "POST",
        headers: { authorization: "Bearer api-secret", "content-type": "application/json" },
        body: JSON.stringify({ to }),
      });
    const refused = await place("+12125550100");
    assert.equal(refused.status, 422);
    assert.match((await refused.json()).error, /OUTBOUND_ALLOWED_PREFIXES/);
    const premium = await place("+449012345678"); // UK 09: allowed +44, but denied by default
    assert.equal(premium.status, 422);
    assert.match((await premium.json()).error, /OUTBOUND_DENIED_PREFIXES/);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await place(`+1555010044${i}`);
      statuses.push(res.status);
      if (res.status === 429) assert.ok(Number(res.headers.get("retry-after")) > 0);
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [201, 201, 201, 429, 429]);
    assert.equal(h.twilioApi.calls.items.length, 3, "three calls placed, no more");
  } finally {
    await h.close();
  }
});

Deno.test("a Twilio error that quotes a number is masked in the log and in the answer", async () => {
  const h = await relayHarness({ API_TOKEN: "api-secret" });
  try {
    h.twilioApi.failNextCall = 400; // "The number +15550100444 is unverified."
    const res = await fetch(`${h.svc.url}/api/calls`, {
      method: "POST",
      headers: { authorization: "Bearer api-secret", "content-type": "application/json" },
      body: JSON.stringify({ to: "+15550100444" }),
    });
    assert.equal(res.status, 502);
    const { error } = await res.json();
    assert.match(error, /The number \+\*{7}0444 is unverified/);
    const [line] = h.svc.logs.filter((l) => l.event === "outbound.failed");
    assert.match(String(line.error), /\+\*{7}0444/);
    assert.ok(!JSON.stringify(h.svc.logs).includes("15550100444"), "never the full number");
  } finally {
    await h.close();
  }
});

Deno.test("/config shows base URLs without their credentials", async () => {
  const svc = await startService({
    OPENAI_BASE_URL: "https://proxyuser:proxy-pass-123@openai-proxy.example/v1",
    TWILIO_API_BASE_URL: "https://ac:tw-pass-456@twilio-proxy.example",
  });
  try {
    const page = await (await fetch(`${svc.url}/config`)).text();
    assert.match(page, /https:\/\/\*\*\*\*@openai-proxy\.example\/v1/);
    assert.match(page, /https:\/\/\*\*\*\*@twilio-proxy\.example/);
    for (const secret of ["proxy-pass-123", "proxyuser", "tw-pass-456"]) {
      assert.ok(!page.includes(secret), secret);
    }
  } finally {
    await svc.close();
  }
});

Deno.test("production (Deploy, or listening beyond loopback) refuses to start without PUBLIC_URL", () => {
  for (const env of [{ HOSTNAME: "0.0.0.0" }, { DENO_DEPLOYMENT_ID: "abc123" }]) {
    assert.throws(() => loadConfig(env), /PUBLIC_URL must be set in production/);
    const config = loadConfig({ ...env, PUBLIC_URL: "https://voice.example.com" });
    assert.equal(config.production, true);
  }
  const dev = loadConfig({});
  assert.equal(dev.hostname, "127.0.0.1", "dev listens on loopback by default");
  assert.equal(dev.production, false);
});

Deno.test("the outbound call's token works for the socket Twilio opens with its TwiML (no SID yet)", async () => {
  const svc = await startService({ API_TOKEN: "t" });
  try {
    // The token an outbound TwiML carries is bound to the reference, the SID unknown.
    const token = await svc.services.callTokens.issue({
      callSid: "",
      from: "+15550100000",
      to: "+15550100444",
      agent: "default",
      reference: "ref-9",
    });
    const claims = { from: "+15550100000", to: "+15550100444", agent: "default" };
    const tokens = svc.services.callTokens;
    assert.equal(
      await tokens.verify(token, { ...claims, callSid: newCallSid(), reference: "ref-9" }),
      true,
    );
    assert.equal(
      await tokens.verify(token, { ...claims, callSid: newCallSid(), reference: "" }),
      false,
    );
    assert.equal(
      await tokens.verify(token, { ...claims, callSid: newCallSid(), reference: "ref-8" }),
      false,
    );
    assert.equal(
      await tokens.verify(token, {
        ...claims,
        to: "+15550100445",
        callSid: newCallSid(),
        reference: "ref-9",
      }),
      false,
    );
    const res = await postSigned(`${svc.url}/twilio/voice`, { CallSid: newCallSid() });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await svc.close();
  }
});
