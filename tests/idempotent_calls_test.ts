/**
 * `POST /api/calls` with an `Idempotency-Key`, through the fake Twilio REST API (which counts the
 * calls placed): a retry gets the first answer and places nothing; concurrent requests with one
 * key place one call; the key with another body is refused; a failed first attempt (Twilio
 * refused, nothing placed) leaves the key free for the retry; no key, no deduplication.
 * Across two processes on one KV file: tests/multi_instance_test.ts.
 */

import assert from "node:assert/strict";
import { relayHarness } from "./helpers/relay_harness.ts";

const TOKEN = "api-token-idempotent";

function place(url: string, body: unknown, key?: string): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    authorization: `Bearer ${TOKEN}`,
  };
  if (key !== undefined) headers["idempotency-key"] = key;
  return fetch(`${url}/api/calls`, { method: "POST", headers, body: JSON.stringify(body) });
}

const BODY = { to: "+15550100444", agent: "appointments", params: { customerName: "Ada" } };

Deno.test("Idempotency-Key: one call per key, the first answer replayed, another body refused", async () => {
  const h = await relayHarness({ API_TOKEN: TOKEN });
  try {
    const first = await place(h.svc.url, BODY, "order-1001");
    assert.equal(first.status, 201);
    assert.equal(first.headers.get("idempotent-replayed"), null);
    const answer = await first.json();
    const again = await place(h.svc.url, BODY, "order-1001");
    assert.equal(again.status, 201);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(await again.json(), answer);
    assert.equal(h.twilioApi.calls.items.length, 1, "the retry placed no call");

    // Five at once with a new key: one call, five equal answers.
    const racing = await Promise.all(
      Array.from({ length: 5 }, () => place(h.svc.url, BODY, "order-1002")),
    );
    const bodies = await Promise.all(racing.map((r) => r.json()));
    assert.deepEqual(racing.map((r) => r.status), [201, 201, 201, 201, 201]);
    assert.equal(new Set(bodies.map((b) => b.callSid)).size, 1);
    assert.equal(h.twilioApi.calls.items.length, 2);

    const other = await place(h.svc.url, { ...BODY, to: "+15550100555" }, "order-1001");
    assert.equal(other.status, 422);
    assert.match((await other.json()).error, /used with another request body/);

    const bad = await place(h.svc.url, BODY, "é".repeat(3));
    assert.equal(bad.status, 400);
    await bad.body?.cancel();

    // Without a key each request is a call.
    for (let i = 0; i < 2; i++) assert.equal((await place(h.svc.url, BODY)).status, 201);
    assert.equal(h.twilioApi.calls.items.length, 4, "no key, no deduplication");
  } finally {
    await h.close();
  }
});

Deno.test("Idempotency-Key: a first attempt Twilio refused leaves the key free for the retry", async () => {
  const h = await relayHarness({ API_TOKEN: TOKEN });
  try {
    h.twilioApi.failNextCall = 503;
    const failed = await place(h.svc.url, BODY, "retry-me");
    assert.equal(failed.status, 502);
    await failed.body?.cancel();
    const retry = await place(h.svc.url, BODY, "retry-me");
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get("idempotent-replayed"), null, "placed, not replayed");
    const { callSid } = await retry.json();
    const replay = await place(h.svc.url, BODY, "retry-me");
    assert.equal((await replay.json()).callSid, callSid);
    assert.equal(h.twilioApi.calls.items.length, 1, "only the retry reached calls.create");
  } finally {
    await h.close();
  }
});
