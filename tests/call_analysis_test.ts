/**
 * The after-call analysis end to end: a relay call (both text APIs) and a realtime call end,
 * the service asks the fake OpenAI for structured outputs over the transcript with the profile's
 * strict schema through the real `openai` SDK, and the answer lands on the record, the call
 * page, the dashboard's result filter and `/metrics`; a failed analysis is recorded with its
 * reason and the record stays.
 */

import assert from "node:assert/strict";
import { FakeOpenAI } from "./fakes/fake_openai.ts";
import { FakeRealtime } from "./fakes/fake_realtime.ts";
import { MediaStreamsClient } from "./fakes/media_streams_client.ts";
import { relayHarness } from "./helpers/relay_harness.ts";
import { agentsWithAnalysis, analysedRecord, FIELDS } from "./helpers/after_call.ts";
import { startService, TEST_AUTH_TOKEN, twilioParameters } from "./helpers/service.ts";
import { parsePrometheusText } from "./helpers/prometheus_text.ts";
import { eventually } from "./helpers/relay_harness.ts";
import type { CallRecord } from "../lib/records/call_store.ts";

const ANSWER = {
  summary: "Ada booked a check-up on Tuesday.",
  outcome: "booked",
  fields: { name: "Ada", day: "Tuesday" },
};

for (const api of ["chat", "responses"] as const) {
  Deno.test(`${api}: a relay call's analysis is stored, shown, filtered and counted`, async () => {
    const dir = await agentsWithAnalysis();
    const h = await relayHarness({ AGENTS_DIR: dir, OPENAI_API: api });
    try {
      h.fake.scriptStructured({ json: ANSWER });
      const call = await h.call({ agent: "clinic" });
      call.prompt("I'm Ada, book me a check-up on Tuesday");
      assert.equal((await call.turn()).text, "You said: I'm Ada, book me a check-up on Tuesday");
      await call.hangUp();
      const store = h.svc.services.records.store;
      const record = await analysedRecord(store, call.callSid);
      assert.deepEqual(record.analysis, {
        status: "done",
        at: record.analysis!.at,
        summary: ANSWER.summary,
        outcome: "booked",
        fields: ANSWER.fields,
        model: "gpt-test",
      });

      // One structured-output request, strict, with the profile's schema and the transcript.
      assert.equal(h.fake.structuredRequests.length, 1);
      const { body } = h.fake.structuredRequests[0];
      const format = api === "chat"
        ? (body.response_format as Record<string, Record<string, unknown>>).json_schema
        : (body.text as Record<string, Record<string, unknown>>).format;
      assert.equal(format.strict, true);
      const schema = format.schema as { properties: Record<string, unknown> };
      assert.deepEqual(schema.properties.fields, FIELDS);
      assert.deepEqual(schema.properties.outcome, {
        type: "string",
        enum: ["booked", "no-booking"],
        description: "How the call ended.",
      });
      const transcript = api === "chat"
        ? String((body.messages as { content: string }[])[1].content)
        : String(body.input);
      assert.match(transcript, /^Caller: I'm Ada, book me a check-up on Tuesday\nAgent: You said/);

      const page = await (await fetch(`${h.svc.url}/calls/${call.callSid}`)).text();
      assert.match(page, /Ada booked a check-up on Tuesday\./);
      assert.match(page, /class="outcome analysis-outcome">booked</);
      assert.match(page, /&quot;day&quot;: &quot;Tuesday&quot;|"day": "Tuesday"/);

      const booked = await (await fetch(`${h.svc.url}/?result=booked`)).text();
      assert.ok(booked.includes(`data-call-sid="${call.callSid}"`), "listed under booked");
      const other = await (await fetch(`${h.svc.url}/?result=no-booking`)).text();
      assert.ok(!other.includes(`data-call-sid="${call.callSid}"`), "not under no-booking");

      const metrics = parsePrometheusText(await (await fetch(`${h.svc.url}/metrics`)).text());
      assert.equal(
        metrics.value("callbridge_call_results_total", { agent: "clinic", result: "booked" }),
        1,
      );
    } finally {
      await h.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a failed analysis is recorded with its reason; the record stays", async () => {
  const dir = await agentsWithAnalysis();
  const h = await relayHarness({ AGENTS_DIR: dir });
  try {
    h.fake.scriptStructured({ status: 400 }, { refusal: "I can't help with that." });
    const store = h.svc.services.records.store;
    for (const reason of [/^400: /, /^the model refused: I can't help with that\.$/]) {
      const call = await h.call({ agent: "clinic" });
      call.prompt("Hello");
      await call.turn();
      await call.hangUp();
      const record = await analysedRecord(store, call.callSid);
      assert.equal(record.analysis?.status, "failed");
      assert.match((record.analysis as { error: string }).error, reason);
      assert.equal(record.outcome, "caller-hangup", "the record itself is whole");
      assert.equal((await store.getDetail(record.id))?.transcript.length, 2);
      const page = await (await fetch(`${h.svc.url}/calls/${call.callSid}`)).text();
      assert.match(page, /The analysis failed/);
    }
    const metrics = parsePrometheusText(await (await fetch(`${h.svc.url}/metrics`)).text());
    assert.equal(
      metrics.value("callbridge_call_results_total", { agent: "clinic", result: "failed" }),
      2,
    );
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an agent without analysis asks for none", async () => {
  const dir = await agentsWithAnalysis();
  const h = await relayHarness({ AGENTS_DIR: dir });
  try {
    const call = await h.call({ agent: "default" });
    call.prompt("Hello");
    await call.turn();
    const second = await h.call({ agent: "clinic" });
    second.prompt("Hi");
    await second.turn();
    await call.hangUp();
    await second.hangUp();
    // The clinic call, ended last, is analysed: by then the default one would have been too.
    await analysedRecord(h.svc.services.records.store, second.callSid);
    assert.equal(h.fake.structuredRequests.length, 1);
    const [first] = await h.svc.services.records.store.findBySid(call.callSid);
    assert.equal(first.analysis, null);
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a realtime call's analysis is stored on its record", async () => {
  const dir = await agentsWithAnalysis();
  const realtime = new FakeRealtime();
  const openai = new FakeOpenAI({ apiKey: "sk-test-realtime", upgrade: (r) => realtime.handle(r) });
  const baseUrl = openai.start();
  const svc = await startService({
    OPENAI_API_KEY: "sk-test-realtime",
    OPENAI_BASE_URL: baseUrl,
    OPENAI_MODEL: "gpt-test",
    VOICE_MODE: "realtime",
    AGENTS_DIR: dir,
  });
  let client: MediaStreamsClient | null = null;
  try {
    openai.scriptStructured({
      json: { summary: "The agent greeted the caller.", outcome: "no-booking", fields: null },
    });
    const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
    const parameters = await twilioParameters(svc.url, {
      callSid,
      agent: "clinic",
      path: "/twilio/voice/realtime",
    });
    client = await MediaStreamsClient.connect(svc.url, { authToken: TEST_AUTH_TOKEN, callSid });
    client.start(parameters);
    const store = svc.services.records.store;
    // The greeting is the transcript's first line; then the caller hangs up.
    await eventually(async () => {
      const [record] = await store.findBySid(callSid);
      return Boolean(record && (await store.getDetail(record.id))?.transcript.length);
    }, "the greeting in the transcript");
    client.stop();
    await client.disconnect();
    const record = await analysedRecord(store, callSid);
    assert.equal(record.mode, "realtime");
    assert.equal(record.analysis?.status, "done");
    assert.equal(resultLabel(record), "no-booking");
    const body = openai.structuredRequests[0].body;
    assert.match(String((body.messages as { content: string }[])[1].content), /^Agent: /);
  } finally {
    await client?.disconnect();
    await svc.close();
    await openai.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the analysis runs on the agent's own model and API, as its calls do", async () => {
  const dir = await agentsWithAnalysis({ model: "gpt-4.1-mini", api: "responses" });
  const h = await relayHarness({ AGENTS_DIR: dir, OPENAI_API: "chat" });
  try {
    h.fake.scriptStructured({ json: ANSWER });
    const call = await h.call({ agent: "clinic" });
    call.prompt("I'm Ada, book me a check-up on Tuesday");
    await call.turn();
    await call.hangUp();
    const record = await analysedRecord(h.svc.services.records.store, call.callSid);
    assert.equal(record.analysis?.status, "done");
    assert.equal(h.fake.structuredRequests.length, 1);
    const { body } = h.fake.structuredRequests[0];
    assert.equal(body.model, "gpt-4.1-mini");
    // The Responses API's structured output (text.format), not Chat's response_format.
    assert.ok(body.text && !body.response_format, JSON.stringify(Object.keys(body)));
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

function resultLabel(record: CallRecord): string | null {
  return record.analysis?.status === "done" ? record.analysis.outcome : null;
}
