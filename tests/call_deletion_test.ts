/**
 * Deleting a call for a privacy request: `DELETE /api/calls/:sid` (bearer token) and the call
 * page's button (a confirmation page first, CSRF-checked) remove the record, its turns, events,
 * analysis, webhook state, status history and outbound data, leaving nothing in KV that names
 * the call or its numbers; the deletion is logged with the number masked.
 */

import assert from "node:assert/strict";
import { WebhookReceiver } from "./fakes/webhook_receiver.ts";
import { agentsWithAnalysis, analysedRecord } from "./helpers/after_call.ts";
import { eventually, type RelayHarness, relayHarness } from "./helpers/relay_harness.ts";
import { postSigned } from "./helpers/service.ts";
import { webhookStatus } from "../lib/records/call_webhook.ts";

const TOKEN = "api-token-delete-77e1";
const CALLER = "+15550100123";

/** Every KV entry, key and value, as text. */
async function kvDump(kv: Deno.Kv): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of kv.list({ prefix: [] })) {
    out.push(
      `${JSON.stringify(entry.key)} ${
        JSON.stringify(entry.value, (_k, v) => typeof v === "bigint" ? String(v) : v)
      }`,
    );
  }
  return out;
}

/** A finished, analysed clinic call whose webhook was delivered and whose status came in. */
async function finishedCall(h: RelayHarness, receiver: WebhookReceiver) {
  h.fake.scriptStructured({
    json: { summary: "Ada booked.", outcome: "booked", fields: { name: "Ada", day: "Tue" } },
  });
  const call = await h.call({ agent: "clinic" });
  call.prompt("I'm Ada, book Tuesday");
  await call.turn();
  await call.hangUp();
  const res = await postSigned(`${h.svc.url}/twilio/status`, {
    CallSid: call.callSid,
    CallStatus: "completed",
    CallDuration: "12",
  });
  await res.body?.cancel();
  const record = await analysedRecord(h.svc.services.records.store, call.callSid);
  await receiver.deliveries.waitFor((d) => d.json.callSid === call.callSid, { what: "webhook" });
  await eventually(
    async () => (await webhookStatus(h.svc.services.kv, record.id))?.state.status === "delivered",
    "the delivered state",
  );
  return { call, record };
}

Deno.test("DELETE /api/calls/:sid leaves nothing in KV that names the call", async () => {
  const receiver = new WebhookReceiver(null);
  const dir = await agentsWithAnalysis();
  const h = await relayHarness({
    API_TOKEN: TOKEN,
    AGENTS_DIR: dir,
    CALL_WEBHOOK_URL: receiver.url,
  });
  try {
    const { call, record } = await finishedCall(h, receiver);
    const before = await kvDump(h.svc.services.kv);
    const naming = (lines: string[]) =>
      lines.filter((l) => l.includes(call.callSid) || l.includes(record.id) || l.includes(CALLER));
    assert.ok(naming(before).length >= 5, `the call is in KV: ${naming(before).length} entries`);

    const unauthorized = await fetch(`${h.svc.url}/api/calls/${call.callSid}`, {
      method: "DELETE",
    });
    assert.equal(unauthorized.status, 401);
    await unauthorized.body?.cancel();
    const res = await fetch(`${h.svc.url}/api/calls/${call.callSid}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { deleted: 1, recordings: 0 });

    assert.deepEqual(naming(await kvDump(h.svc.services.kv)), [], "nothing names the call");
    const page = await fetch(`${h.svc.url}/calls/${call.callSid}`);
    assert.equal(page.status, 404);
    await page.body?.cancel();
    const again = await fetch(`${h.svc.url}/api/calls/${call.callSid}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(again.status, 404);
    await again.body?.cancel();

    const [line] = h.svc.logs.filter((l) => l.event === "call.deleted");
    assert.equal(line.callSid, call.callSid);
    assert.equal(line.via, "api");
    assert.equal(line.records, 1);
    assert.equal(line.from, "+*******0123");
    const deletedAt = h.svc.logs.indexOf(line);
    assert.ok(
      h.svc.logs.slice(deletedAt).every((l) => !JSON.stringify(l).includes(CALLER)),
      "the number is masked",
    );
  } finally {
    await h.close();
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the call page deletes after a confirmation page; a forged form is refused", async () => {
  const receiver = new WebhookReceiver(null);
  const dir = await agentsWithAnalysis();
  const h = await relayHarness({ AGENTS_DIR: dir, CALL_WEBHOOK_URL: receiver.url });
  try {
    const { call, record } = await finishedCall(h, receiver);
    const page = await (await fetch(`${h.svc.url}/calls/${call.callSid}`)).text();
    assert.match(page, new RegExp(`action="/calls/${call.callSid}/delete"`));
    const post = (fields: Record<string, string>, origin = h.svc.url) =>
      fetch(`${h.svc.url}/calls/${call.callSid}/delete`, {
        method: "POST",
        headers: { origin, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields),
        redirect: "manual",
      });
    const forged = await post({ confirm: "yes" }, "https://evil.example");
    assert.equal(forged.status, 403);
    await forged.body?.cancel();
    const ask = await post({});
    assert.equal(ask.status, 200);
    const confirmation = await ask.text();
    assert.match(confirmation, /Delete this call\?/);
    assert.match(confirmation, /name="confirm" value="yes"/);
    assert.equal((await h.svc.services.records.store.findBySid(call.callSid)).length, 1);
    const done = await post({ confirm: "yes" });
    assert.equal(done.status, 200);
    assert.match(await done.text(), /Call deleted/);
    assert.equal((await h.svc.services.records.store.findBySid(call.callSid)).length, 0);
    const dump = await kvDump(h.svc.services.kv);
    assert.deepEqual(dump.filter((l) => l.includes(call.callSid) || l.includes(record.id)), []);
    assert.equal(h.svc.logs.find((l) => l.event === "call.deleted")?.via, "admin");
    const gone = await post({ confirm: "yes" });
    assert.equal(gone.status, 404);
    await gone.body?.cancel();
  } finally {
    await h.close();
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});
