/**
 * SIP calls straight to OpenAI, over real sockets, with the real `openai` SDK against the fake:
 * the voice webhook's (`/twilio/voice/sip`) `<Dial><Sip>` to the project's SIP URI with the call's data as
 * `X-Callbridge-*` headers; `POST /openai/webhook` verifying each delivery (unsigned, stale and
 * forged ones refused with 400), accepting a call on the surface of the agent's engine with the
 * agent's session (Live: `session.type "live"`, tools by delegation; Realtime: `type
 * "realtime"`, tools) and leaving the same call's other event alone, handling a duplicate
 * `webhook-id` once, and rejecting with 486 at capacity, 503 while draining and 603 for a token
 * that does not check out.
 */

import assert from "node:assert/strict";
import { signWebhook, TEST_WEBHOOK_SECRET } from "./fakes/fake_sip.ts";
import { startRealtime } from "./helpers/realtime_harness.ts";
import { deliver, dialedHeaders, SIP_PROJECT, startSip } from "./helpers/sip_harness.ts";
import { waitUntil } from "./fakes/event_log.ts";

Deno.test("sip: the voice webhook dials OpenAI's SIP URI with the call's data as X-headers", async () => {
  const { h } = await startSip();
  try {
    const headers = await dialedHeaders(h, "appointments");
    assert.equal(headers["X-Callbridge-Agent"], "appointments");
    assert.match(headers["X-Callbridge-Call-Sid"], /^CA[0-9a-f]{32}$/);
    assert.equal(decodeURIComponent(headers["X-Callbridge-From"]), "+15550100123");
    assert.equal(decodeURIComponent(headers["X-Callbridge-To"]), "+15550100999");
    assert.match(headers["X-Callbridge-Token"], /^cbcall\./);
    assert.equal(headers["X-Callbridge-Reference"], undefined, "empty headers are left out");
  } finally {
    await h.close();
  }
});

Deno.test("sip, live: live.transport.incoming accepted with the agent's Live session", async () => {
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "live" });
  try {
    const headers = await dialedHeaders(h, "appointments");
    const events = sip.incoming(headers);
    assert.deepEqual(await deliver(h, events.live), { status: 200, text: "ok" });
    assert.deepEqual(await deliver(h, events.realtime), { status: 200, text: "ok" });
    const accept = await sip.requests.waitFor((r) => r.action === "accept", { what: "accept" });
    await h.service.services.sipWebhook.idle();
    assert.equal(accept.status, 200);
    assert.equal(accept.surface, "live");
    assert.equal(accept.id, events.live.data.session_id);
    const session = accept.body.session as {
      type: string;
      model: string;
      instructions: string;
      audio: Record<string, unknown>;
      delegation: { type: string; responses: { tools: { name: string }[] } };
    };
    assert.equal(session.type, "live");
    assert.equal(session.model, "gpt-live-1");
    assert.deepEqual(session.audio, { output: { voice: "coral" } });
    assert.match(session.instructions, /Bright Smile Dental/);
    assert.match(session.instructions, /\+15550100123/);
    assert.equal(session.delegation.type, "responses");
    assert.ok(session.delegation.responses.tools.some((t) => t.name === "find_slots"));
    // The same call's Realtime event was left alone: one request in all.
    assert.equal(sip.requests.items.length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("sip, realtime: realtime.call.incoming accepted with the agent's Realtime session", async () => {
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "realtime" });
  try {
    const events = sip.incoming(await dialedHeaders(h, "appointments"));
    await deliver(h, events.live);
    await deliver(h, events.realtime);
    const accept = await sip.requests.waitFor((r) => r.action === "accept", { what: "accept" });
    await h.service.services.sipWebhook.idle();
    assert.equal(accept.status, 200);
    assert.equal(accept.surface, "realtime");
    assert.equal(accept.id, events.realtime.data.call_id);
    assert.equal(accept.body.type, "realtime");
    assert.equal(accept.body.model, "gpt-realtime");
    assert.match(String(accept.body.instructions), /Bright Smile Dental/);
    const tools = accept.body.tools as { type: string; name: string }[];
    assert.ok(tools.some((t) => t.type === "function" && t.name === "book_appointment"));
    assert.equal(sip.requests.items.length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("sip, trunk: a call without our headers is answered by the agent of its dialled number", async () => {
  const { h, sip } = await startSip({
    OPENAI_VOICE_ENGINE: "realtime",
    SIP_TRUNK_AGENTS: "+15550100999=appointments,+15550100888=nosuch",
  });
  try {
    /** A trunk call to `number`: only the INVITE's own headers (the fake adds `From`). */
    const trunkCall = async (number: string) => {
      const events = sip.incoming({ To: `<sip:${number}@sip.api.openai.com>` });
      assert.deepEqual(await deliver(h, events.realtime), { status: 200, text: "ok" });
      await h.service.services.sipWebhook.idle();
      const accept = sip.of("accept").find((r) => r.id === events.realtime.data.call_id);
      assert.ok(accept, `the call to ${number} was accepted`);
      return String(accept.body.instructions);
    };
    // The mapped number: its agent, with the caller's number from the INVITE's From.
    const mapped = await trunkCall("+15550100999");
    assert.match(mapped, /Bright Smile Dental/);
    assert.match(mapped, /The caller's number is \+15550100123/);
    // Another number: the default agent.
    assert.match(await trunkCall("+15550100777"), /answering a phone call for Callbridge/);
    // A number mapped to an agent that does not exist: default, and listed on /config.
    assert.match(await trunkCall("+15550100888"), /answering a phone call for Callbridge/);
    assert.equal(h.logs("sip.unknown_agent").length, 1);
    const page = await (await fetch(`${h.service.url}/config`)).text();
    const misconfigured = page.match(/data-section="misconfigured-numbers">(.*?)<\/section>/s)?.[1];
    assert.match(misconfigured ?? "", /nosuch/);
    assert.match(misconfigured ?? "", /\+15550100888/);
    // The effective configuration shows the table.
    assert.match(page, /openai\.sipTrunkAgents.*\+15550100999=appointments, \+15550100888=nosuch/s);
  } finally {
    await h.close();
  }
});

Deno.test("/config: agents answering over SIP need OPENAI_PROJECT_ID and OPENAI_WEBHOOK_SECRET", async () => {
  const check = async (env: Record<string, string>) => {
    const h = await startRealtime({ env });
    try {
      const page = await (await fetch(`${h.service.url}/config`)).text();
      const found = page.match(
        /class="check (\w+)" data-check="SIP calls configured">(.*?)<\/div>/s,
      );
      assert.ok(found, "the page shows the SIP check");
      return `${found[1]}: ${found[2].replace(/<[^>]+>/g, "")}`;
    } finally {
      await h.close();
    }
  };
  assert.match(await check({}), /^ok: .*No agent answers over SIP/);
  // VOICE_MODE=sip: every agent without its own mode (appointments is "relay").
  assert.match(
    await check({ VOICE_MODE: "sip" }),
    /^bad: .*Agent default answers over SIP, but OPENAI_PROJECT_ID is not set/,
  );
  assert.match(
    await check({ VOICE_MODE: "sip", OPENAI_PROJECT_ID: SIP_PROJECT }),
    /^bad: .*OPENAI_WEBHOOK_SECRET is not set.*Fix: Add a project webhook/,
  );
  assert.match(
    await check({
      VOICE_MODE: "sip",
      OPENAI_PROJECT_ID: SIP_PROJECT,
      OPENAI_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    }),
    /^ok: .*Agent default dials sip:proj_test123@sip\.api\.openai\.com/,
  );
});

Deno.test("/config: an agent moved to SIP is checked at once, not after the cached minute", async () => {
  const h = await startRealtime({});
  try {
    const sipCheck = async () => {
      const page = await (await fetch(`${h.service.url}/config`)).text();
      return page.match(/class="check (\w+)" data-check="SIP calls configured">(.*?)<\/div>/s)!
        .slice(1).join(": ").replace(/<[^>]+>/g, "");
    };
    assert.match(await sipCheck(), /^ok: .*No agent answers over SIP/);
    const profiles = h.service.services.profiles;
    const current = (await profiles.files("default"))!.files;
    const agentJson = JSON.stringify({ ...JSON.parse(current.agentJson), mode: "sip" });
    assert.equal((await profiles.save("default", { ...current, agentJson })).ok, true);
    assert.match(await sipCheck(), /^bad: .*Agent default answers over SIP/);
  } finally {
    await h.close();
  }
});

Deno.test("openai webhook: unsigned, stale and forged deliveries are refused with 400", async () => {
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "live" });
  try {
    const events = sip.incoming(await dialedHeaders(h, "default"));
    const body = JSON.stringify(events.live);
    // Unsigned.
    assert.equal(
      (await deliver(h, events.live, { "content-type": "application/json" })).status,
      400,
    );
    // Stale: signed ten minutes ago (the SDK's tolerance is five).
    const stale = signWebhook(body, TEST_WEBHOOK_SECRET, {
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    assert.equal((await deliver(h, events.live, stale)).status, 400);
    // Forged: signed with another secret, or a body changed after signing.
    const forged = signWebhook(body, `whsec_${btoa("someone else")}`);
    assert.equal((await deliver(h, events.live, forged)).status, 400);
    const tampered = signWebhook(body, TEST_WEBHOOK_SECRET);
    const changed = JSON.stringify({
      ...events.live,
      data: { ...events.live.data, session_id: "x" },
    });
    const res = await fetch(`${h.service.url}/openai/webhook`, {
      method: "POST",
      headers: tampered,
      body: changed,
    });
    assert.equal(res.status, 400);
    await res.body?.cancel();
    await h.service.services.sipWebhook.idle();
    assert.equal(sip.requests.items.length, 0, "nothing refused was acted upon");
    assert.equal(h.logs("openai_webhook.refused").length, 4);
  } finally {
    await h.close();
  }
});

Deno.test("openai webhook: a duplicate webhook-id is handled once", async () => {
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "live" });
  try {
    const events = sip.incoming(await dialedHeaders(h, "default"));
    const body = JSON.stringify(events.live);
    const headers = signWebhook(body, TEST_WEBHOOK_SECRET, { id: "wh_once" });
    assert.deepEqual(await deliver(h, events.live, headers), { status: 200, text: "ok" });
    assert.deepEqual(await deliver(h, events.live, headers), { status: 200, text: "duplicate" });
    await h.service.services.sipWebhook.idle();
    assert.equal(sip.of("accept").length, 1);
    assert.equal(sip.of("accept")[0].status, 200);
  } finally {
    await h.close();
  }
});

Deno.test("sip: rejected with 486 at capacity, 503 while draining, 603 for a bad token", async () => {
  const { h, sip, live } = await startSip({
    OPENAI_VOICE_ENGINE: "live",
    MAX_CONCURRENT_CALLS: "1",
  });
  try {
    // At capacity: one Media Streams call is live (it started after the SIP call's webhook), its
    // Live session started (a session that failed to open would end the call and free its line).
    const headers = await dialedHeaders(h, "default");
    const busy = await h.call();
    const session = await live.session();
    await session.events.waitFor((e) => e.type === "session.start", { what: "session.start" });
    assert.equal(h.service.services.registry.size, 1);
    const first = sip.incoming(headers);
    await deliver(h, first.live);
    await h.service.services.sipWebhook.idle();
    assert.deepEqual(sip.of("reject").map((r) => r.body), [{ status_code: 486 }]);
    assert.equal(h.service.services.limitHits.get("max_concurrent_calls"), 1);
    await busy.disconnect();
    await waitUntil(() => h.service.services.registry.size === 0, { what: "the call ended" });
    // A token that does not match the call's other headers (a changed agent).
    const forged = sip.incoming({ ...headers, "X-Callbridge-Agent": "appointments" });
    await deliver(h, forged.live);
    await h.service.services.sipWebhook.idle();
    assert.deepEqual(sip.of("reject").map((r) => r.body.status_code), [486, 603]);
    // Draining.
    h.service.services.lifecycle.startDrain();
    const late = sip.incoming(headers);
    await deliver(h, late.live);
    await h.service.services.sipWebhook.idle();
    assert.deepEqual(sip.of("reject").map((r) => r.body.status_code), [486, 603, 503]);
    assert.equal(sip.of("accept").length, 0);
    assert.ok(sip.of("reject").every((r) => r.status === 200));
  } finally {
    await h.close();
  }
});
