/**
 * Every call has a record, answered or not: an outbound call placed through `POST /api/calls`
 * that rings out gets its record from Twilio's final status callback (the "completed" event,
 * whose CallStatus says how it ended), with its agent, on its page, in the dashboard's outcome
 * filter, in `/metrics` and in the end-of-call webhook; a record left live by an instance that
 * went away is completed; a call this process still holds is left to its session.
 */

import assert from "node:assert/strict";
import { WebhookReceiver } from "./fakes/webhook_receiver.ts";
import { eventually, relayHarness } from "./helpers/relay_harness.ts";
import { postSigned } from "./helpers/service.ts";
import { parsePrometheusText } from "./helpers/prometheus_text.ts";
import { newCallRecord } from "../lib/records/call_store.ts";

const TOKEN = "api-token-unanswered";

async function status(url: string, params: Record<string, string>): Promise<number> {
  const res = await postSigned(`${url}/twilio/status`, {
    AccountSid: "AC00000000000000000000000000000000",
    ApiVersion: "2010-04-01",
    CallbackSource: "call-progress-events",
    Timestamp: new Date().toUTCString(),
    ...params,
  });
  await res.body?.cancel();
  return res.status;
}

Deno.test("an outbound call that rings out has a record, with its agent and outcome", async () => {
  const receiver = new WebhookReceiver(null);
  const h = await relayHarness({ API_TOKEN: TOKEN, CALL_WEBHOOK_URL: receiver.url });
  try {
    const placed = await fetch(`${h.svc.url}/api/calls`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ to: "+15550100444", agent: "appointments" }),
    });
    assert.equal(placed.status, 201);
    const { callSid } = await placed.json();
    assert.equal((await fetch(`${h.svc.url}/calls/${callSid}`)).status, 404, "none while ringing");
    const call = { CallSid: callSid, From: "+15550100000", To: "+15550100444" };
    const base = { ...call, Direction: "outbound-api" };
    assert.equal(
      await status(h.svc.url, { ...base, CallStatus: "initiated", SequenceNumber: "0" }),
      204,
    );
    assert.equal(
      await status(h.svc.url, { ...base, CallStatus: "ringing", SequenceNumber: "1" }),
      204,
    );
    assert.equal((await h.svc.services.records.store.findBySid(callSid)).length, 0);
    assert.equal(
      await status(h.svc.url, {
        ...base,
        CallStatus: "no-answer",
        CallDuration: "0",
        SequenceNumber: "2",
      }),
      204,
    );
    const [record] = await h.svc.services.records.store.findBySid(callSid);
    assert.equal(record.outcome, "no-answer");
    assert.equal(record.agent, "appointments");
    assert.equal(record.direction, "outbound-api");
    assert.equal(record.to, "+15550100444");
    assert.equal(record.answeredAt, null);
    assert.ok(record.endedAt !== null);

    const page = await fetch(`${h.svc.url}/calls/${callSid}`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /class="outcome ">no-answer</);
    const listed = await (await fetch(`${h.svc.url}/?outcome=no-answer`)).text();
    assert.ok(listed.includes(`data-call-sid="${callSid}"`));
    const answered = await (await fetch(`${h.svc.url}/?outcome=caller-hangup`)).text();
    assert.ok(!answered.includes(`data-call-sid="${callSid}"`));
    const metrics = parsePrometheusText(await (await fetch(`${h.svc.url}/metrics`)).text());
    assert.equal(
      metrics.value("callbridge_calls_total", {
        mode: "relay",
        agent: "appointments",
        outcome: "no-answer",
      }),
      1,
    );
    const hook = await receiver.deliveries.waitFor(() => true, { what: "the webhook" });
    assert.equal(hook.json.callSid, callSid);
    assert.equal(hook.json.endReason, "no-answer");
    assert.deepEqual(hook.json.transcript, []);
    assert.equal(hook.json.answeredAt, null);

    // Twilio may send the final callback twice: still one record.
    assert.equal(await status(h.svc.url, { ...base, CallStatus: "no-answer" }), 204);
    assert.equal((await h.svc.services.records.store.findBySid(callSid)).length, 1);
    // A busy line the same way; an unknown caller's call goes to the default agent.
    const busySid = "CA33333333333333333333333333333333";
    assert.equal(
      await status(h.svc.url, {
        ...call,
        CallSid: busySid,
        Direction: "inbound",
        CallStatus: "busy",
      }),
      204,
    );
    const [busy] = await h.svc.services.records.store.findBySid(busySid);
    assert.deepEqual([busy.outcome, busy.agent, busy.direction], ["busy", "default", "inbound"]);
  } finally {
    await h.close();
    await receiver.close();
  }
});

Deno.test("a final status completes a record left live elsewhere, never one held here", async () => {
  const h = await relayHarness({});
  try {
    const store = h.svc.services.records.store;
    const orphanSid = "CA44444444444444444444444444444444";
    // Written by an instance that went away mid-call: still `live`.
    await store.putRecord(newCallRecord({
      id: "orphan-1",
      callSid: orphanSid,
      mode: "relay",
      agent: "default",
      direction: "inbound",
      from: "+15550100123",
      to: "+15550100999",
    }));
    assert.equal(await status(h.svc.url, { CallSid: orphanSid, CallStatus: "completed" }), 204);
    const [orphan] = await store.findBySid(orphanSid);
    assert.equal(orphan.id, "orphan-1", "completed, not a second record");
    assert.equal(orphan.outcome, "completed");
    assert.ok(orphan.endedAt !== null);

    const call = await h.call();
    call.prompt("Hello");
    await call.turn();
    await eventually(async () => (await store.findBySid(call.callSid)).length === 1, "the record");
    assert.equal(await status(h.svc.url, { CallSid: call.callSid, CallStatus: "completed" }), 204);
    const [live] = await store.findBySid(call.callSid);
    assert.equal(live.outcome, "live", "its session still holds it");
    await call.hangUp();
    await eventually(
      async () => (await store.findBySid(call.callSid))[0].outcome === "caller-hangup",
      "the session's own outcome",
    );
  } finally {
    await h.close();
  }
});
