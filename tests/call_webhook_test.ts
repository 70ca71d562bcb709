/**
 * The end-of-call webhook end to end: a relay call ends, and the team's receiver gets the record
 * (metadata, transcript, tool calls, usage, cost, analysis), signed and with the record id as its
 * idempotency key, through the Deno KV queue: a timeout and a non-2xx answer are retried on the
 * schedule; a delivery that runs out of retries is dead-lettered, shown on the call page and in
 * `/metrics`, and "send again" delivers it; a profile's `webhookUrl` wins over
 * `CALL_WEBHOOK_URL`; the URL and schedule are checked at start-up.
 */

import assert from "node:assert/strict";
import { WebhookReceiver } from "./fakes/webhook_receiver.ts";
import { agentsWithAnalysis, analysedRecord } from "./helpers/after_call.ts";
import { eventually, relayHarness, within } from "./helpers/relay_harness.ts";
import { parsePrometheusText } from "./helpers/prometheus_text.ts";
import { ConfigError, loadConfig } from "../lib/platform/config.ts";
import { deadLetterKey, webhookStatus } from "../lib/records/call_webhook.ts";
import type { Services } from "../lib/services.ts";

const SECRET = "webhook-secret-5b1e";

async function scrape(url: string) {
  return parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
}

/** Resolves once call `id`'s webhook is dead-lettered. */
async function deadLettered(services: Services, id: string): Promise<void> {
  await eventually(
    async () => (await services.kv.get(deadLetterKey(id))).value !== null,
    "the dead letter",
  );
}

Deno.test("delivered after a timeout and a 500: signed, idempotent, the whole record", async () => {
  const receiver = new WebhookReceiver(SECRET);
  const dir = await agentsWithAnalysis();
  const h = await relayHarness({
    AGENTS_DIR: dir,
    CALL_WEBHOOK_URL: receiver.url,
    WEBHOOK_SIGNING_SECRET: SECRET,
    TOOLS_SIGNING_SECRET: "not-this-one",
    WEBHOOK_TIMEOUT_MS: "300",
    WEBHOOK_RETRY_SCHEDULE_MS: "20,20,20",
    OPENAI_MODEL: "gpt-4.1-mini", // a model of the price table: the payload has a cost
  });
  try {
    receiver.answer("hang", 500);
    h.fake.scriptStructured({
      json: { summary: "Booked.", outcome: "booked", fields: { name: "Ada", day: null } },
    });
    h.fake.script({ toolCalls: [{ name: "end_call", arguments: '{"reason":"done"}' }] });
    const call = await h.call({ agent: "clinic" });
    call.prompt("Book me in, then hang up");
    // end_call: the service ends the call, whatever the webhook does.
    await within(call.closed, 5000, "the call's end");
    const delivered = await receiver.deliveries.waitFor((d) => d.answered === 200, {
      what: "the third attempt",
    });
    const attempts = receiver.deliveries.items;
    assert.deepEqual(attempts.map((d) => d.answered), [null, 500, 200]);
    const [record] = await h.svc.services.records.store.findBySid(call.callSid);
    for (const attempt of attempts) {
      assert.ok(attempt.verified, "signed with WEBHOOK_SIGNING_SECRET over <timestamp>.<body>");
      assert.equal(attempt.headers.get("idempotency-key"), record.id);
      assert.equal(attempt.headers.get("content-type"), "application/json");
    }
    const body = delivered.json as {
      event: string;
      id: string;
      callSid: string;
      agent: string;
      from: string;
      endReason: string;
      transcript: { role: string; text: string }[];
      toolCalls: { summary: string }[];
      usage: { toolCalls: number };
      costUsd: unknown;
      analysis: Record<string, unknown>;
      recording: unknown;
    };
    assert.equal(body.event, "call.ended");
    assert.equal(body.id, record.id);
    assert.equal(body.callSid, call.callSid);
    assert.equal(body.agent, "clinic");
    assert.equal(body.from, "+15550100123");
    assert.equal(body.endReason, "agent-ended");
    assert.equal(body.transcript[0].role, "caller");
    assert.equal(body.transcript[0].text, "Book me in, then hang up");
    assert.equal(body.toolCalls.length, 1);
    assert.match(body.toolCalls[0].summary, /end_call/);
    assert.equal(body.usage.toolCalls, 1);
    assert.equal(typeof body.costUsd, "number");
    assert.deepEqual(
      { ...body.analysis, at: 0 },
      {
        status: "done",
        at: 0,
        summary: "Booked.",
        outcome: "booked",
        fields: { name: "Ada", day: null },
        model: "gpt-4.1-mini",
      },
    );
    assert.equal(body.recording, null);
    // The state says delivered (after the handler's write), the page and /metrics say so.
    await eventually(
      async () => (await webhookStatus(h.svc.services.kv, record.id))?.state.status === "delivered",
      "the delivered state",
    );
    const status = await webhookStatus(h.svc.services.kv, record.id);
    assert.equal(status?.state.attempts, 3);
    assert.equal(status?.undelivered, false);
    const page = await (await fetch(`${h.svc.url}/calls/${call.callSid}`)).text();
    assert.match(page, /webhook-status ">delivered<\/span> after 3 attempts/);
    assert.ok(!page.includes("Send again"));
    const metrics = await scrape(h.svc.url);
    assert.equal(metrics.value("callbridge_webhook_attempts_total", { result: "failed" }), 2);
    assert.equal(metrics.value("callbridge_webhook_attempts_total", { result: "delivered" }), 1);
    assert.equal(metrics.value("callbridge_webhooks_undelivered"), 0);
  } finally {
    await h.close();
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dead-lettered when the schedule runs out; shown; send again delivers it", async () => {
  const receiver = new WebhookReceiver(SECRET, 503);
  const h = await relayHarness({
    CALL_WEBHOOK_URL: receiver.url,
    TOOLS_SIGNING_SECRET: SECRET, // the webhook's secret when WEBHOOK_SIGNING_SECRET is unset
    WEBHOOK_RETRY_SCHEDULE_MS: "10,10",
  });
  try {
    const call = await h.call();
    call.prompt("Hello");
    await call.turn();
    await call.hangUp();
    await eventually(async () =>
      (await h.svc.services.records.store.findBySid(call.callSid))
        .length === 1, "the record");
    const [record] = await h.svc.services.records.store.findBySid(call.callSid);
    await deadLettered(h.svc.services, record.id);
    assert.equal(receiver.deliveries.items.length, 3, "the first attempt and two retries");
    assert.ok(receiver.deliveries.items.every((d) => d.verified));
    const status = await webhookStatus(h.svc.services.kv, record.id);
    assert.equal(status?.undelivered, true);
    assert.equal(status?.state.lastError, "HTTP 503");
    const page = await (await fetch(`${h.svc.url}/calls/${record.id}`)).text();
    assert.match(page, /webhook-status bad">undelivered<\/span> after 3 attempts/);
    assert.match(page, /HTTP 503/);
    assert.match(page, new RegExp(`action="/calls/${record.id}/webhook"`));
    assert.equal((await scrape(h.svc.url)).value("callbridge_webhooks_undelivered"), 1);

    // A form from another origin is refused (CSRF); from the page's own, it queues it again.
    const forged = await fetch(`${h.svc.url}/calls/${record.id}/webhook`, {
      method: "POST",
      headers: {
        origin: "https://evil.example",
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "",
      redirect: "manual",
    });
    assert.equal(forged.status, 403);
    await forged.body?.cancel();
    receiver.answer(200);
    const resend = await fetch(`${h.svc.url}/calls/${record.id}/webhook`, {
      method: "POST",
      headers: { origin: h.svc.url, "content-type": "application/x-www-form-urlencoded" },
      body: "",
      redirect: "manual",
    });
    assert.equal(resend.status, 303);
    assert.equal(resend.headers.get("location"), `/calls/${record.id}`);
    await receiver.deliveries.waitFor((d) => d.answered === 200, { what: "the resent one" });
    await eventually(
      async () => (await webhookStatus(h.svc.services.kv, record.id))?.state.status === "delivered",
      "delivered",
    );
    assert.equal((await h.svc.services.kv.get(deadLetterKey(record.id))).value, null);
    assert.equal((await scrape(h.svc.url)).value("callbridge_webhooks_undelivered"), 0);
    // Nothing left to send again.
    const again = await fetch(`${h.svc.url}/calls/${record.id}/webhook`, {
      method: "POST",
      headers: { origin: h.svc.url },
      redirect: "manual",
    });
    assert.equal(again.status, 404);
    await again.body?.cancel();
  } finally {
    await h.close();
    await receiver.close();
  }
});

Deno.test("a profile's webhookUrl wins over CALL_WEBHOOK_URL", async () => {
  const global = new WebhookReceiver(null);
  const own = new WebhookReceiver(null);
  const dir = await agentsWithAnalysis({ webhookUrl: own.url });
  const h = await relayHarness({ AGENTS_DIR: dir, CALL_WEBHOOK_URL: global.url });
  try {
    const clinic = await h.call({ agent: "clinic" });
    clinic.prompt("Hi");
    await clinic.turn();
    await clinic.hangUp();
    const delivered = await own.deliveries.waitFor(() => true, { what: "the profile's receiver" });
    assert.equal(delivered.json.callSid, clinic.callSid);
    assert.equal(delivered.verified, false, "no secret configured: unsigned");
    assert.equal(delivered.headers.get("x-callbridge-signature"), null);
    const other = await h.call({ agent: "default" });
    other.prompt("Hi");
    await other.turn();
    await other.hangUp();
    const general = await global.deliveries.waitFor(() => true, { what: "CALL_WEBHOOK_URL" });
    assert.equal(general.json.callSid, other.callSid);
    assert.equal(own.deliveries.items.length, 1);
    assert.equal(global.deliveries.items.length, 1);
    await analysedRecord(h.svc.services.records.store, clinic.callSid);
  } finally {
    await h.close();
    await global.close();
    await own.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CALL_WEBHOOK_URL and the retry schedule are checked at start-up", () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };
  assert.deepEqual(problems({ CALL_WEBHOOK_URL: "not a url" }), [
    'CALL_WEBHOOK_URL must be an https:// URL (got "not a url")',
  ]);
  assert.deepEqual(problems({ CALL_WEBHOOK_URL: "http://127.0.0.1:9/hook" }), [], "dev: http ok");
  assert.deepEqual(
    problems({
      HOSTNAME: "0.0.0.0",
      PUBLIC_URL: "https://bridge.example.com",
      ADMIN_PASSWORD: "x",
      CALL_WEBHOOK_URL: "http://crm.example.com/hook",
    }),
    ['CALL_WEBHOOK_URL must be an https:// URL in production (got "http://crm.example.com/hook")'],
  );
  assert.match(
    problems({ WEBHOOK_RETRY_SCHEDULE_MS: "1,2,3,4,5,6" })[0],
    /^WEBHOOK_RETRY_SCHEDULE_MS must be at most 5 comma-separated waits/,
  );
  assert.equal(problems({ WEBHOOK_RETRY_SCHEDULE_MS: "10,x" }).length, 1);
  const config = loadConfig({ TOOLS_SIGNING_SECRET: "t", WEBHOOK_RETRY_SCHEDULE_MS: "5, 50" });
  assert.equal(config.callWebhook.signingSecret, "t");
  assert.deepEqual(config.callWebhook.retryScheduleMs, [5, 50]);
  assert.equal(loadConfig({}).callWebhook.url, null);
});
