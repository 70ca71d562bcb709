/**
 * Per-agent model settings end to end: an agent's own model, API, temperature and token limit
 * reach the fake OpenAI exactly (Chat Completions, Responses, the Realtime socket's URL and its
 * `session.update`), an agent without them runs on the configured defaults with nothing extra
 * sent, and the call's page shows what the call ran with and what it cost. The fakes refuse
 * what the real APIs refuse (out-of-range values, a temperature on a reasoning model or on the
 * Realtime API, a session's model changed after its socket opened).
 */

import assert from "node:assert/strict";
import OpenAI from "openai";
import { waitUntil } from "./fakes/event_log.ts";
import { FakeOpenAI } from "./fakes/fake_openai.ts";
import { FakeRealtime } from "./fakes/fake_realtime.ts";
import { NoDelayWebSocket } from "../lib/platform/ws_client.ts";
import { startRealtime } from "./helpers/realtime_harness.ts";
import { eventually, relayHarness } from "./helpers/relay_harness.ts";
import type { TestService } from "./helpers/service.ts";

type Json = Record<string, unknown>;

/** An AGENTS_DIR with a plain `default` agent and `tuned`, whose agent.json has `settings`. */
async function agentsDir(settings: Json): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const [name, agent] of [["default", {}], ["tuned", settings]] as const) {
    await Deno.mkdir(`${dir}/${name}`);
    await Deno.writeTextFile(`${dir}/${name}/agent.json`, JSON.stringify(agent));
    await Deno.writeTextFile(`${dir}/${name}/instructions.md`, `You are ${name}.`);
  }
  return dir;
}

/** The call's page once its record is complete. */
async function callPage(svc: TestService, callSid: string): Promise<string> {
  const store = svc.services.records.store;
  await eventually(async () => {
    const [record] = await store.findBySid(callSid);
    return record !== undefined && record.outcome !== "live";
  }, "the record completed");
  return await (await fetch(`${svc.url}/calls/${callSid}`)).text();
}

/** The text of `<dd class="name">` on a page. */
function fact(page: string, name: string): string | undefined {
  return page.match(new RegExp(`<dd class="${name}">([^<]*)</dd>`))?.[1];
}

for (const api of ["chat", "responses"] as const) {
  Deno.test(`relay, ${api}: the agent's model, temperature and limit are sent`, async () => {
    const dir = await agentsDir({
      model: "gpt-4.1-mini",
      api,
      temperature: 0.3,
      maxOutputTokens: 200,
    });
    // The configured defaults are the other API and another model: the agent's win.
    const other = api === "chat" ? "responses" : "chat";
    const h = await relayHarness({ AGENTS_DIR: dir, OPENAI_API: other, WELCOME_GREETING: "" });
    try {
      const call = await h.call({ agent: "tuned" });
      call.prompt("When do you open?");
      assert.equal((await call.turn()).text, "You said: When do you open?");
      const [request] = h.fake.requests;
      assert.equal(request.api, api);
      const limit = api === "chat" ? "max_completion_tokens" : "max_output_tokens";
      const otherLimit = api === "chat" ? "max_output_tokens" : "max_completion_tokens";
      assert.equal(request.body.model, "gpt-4.1-mini");
      assert.equal(request.body.temperature, 0.3);
      assert.equal(request.body[limit], 200);
      assert.equal(otherLimit in request.body, false);
      assert.equal("max_tokens" in request.body, false, "the deprecated Chat limit is not sent");
      await call.hangUp();
      const page = await callPage(h.svc, call.callSid);
      assert.equal(fact(page, "model"), "gpt-4.1-mini");
      assert.equal(fact(page, "api"), api);
      assert.equal(fact(page, "temperature"), "0.3");
      assert.equal(fact(page, "max-output-tokens"), "200");
      // Priced from the table (gpt-4.1-mini), to four significant digits.
      const [record] = await h.svc.services.records.store.findBySid(call.callSid);
      assert.ok(record.costUsd! > 0, "gpt-4.1-mini is in the price table");
      assert.equal(
        record.costUsd,
        (record.inputTokens * 0.4 + record.outputTokens * 1.6) / 1e6,
      );
      assert.match(fact(page, "cost")!, /^\$0\.0000\d{4}$|^\$0\.000\d{4}$/);
    } finally {
      await h.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("relay: an agent without settings: OPENAI_MODEL, OPENAI_API, nothing more", async () => {
  const dir = await agentsDir({});
  const h = await relayHarness({
    AGENTS_DIR: dir,
    OPENAI_API: "responses",
    WELCOME_GREETING: "",
    MODEL_PRICES: JSON.stringify({ "gpt-test": { input: 1e6, cachedInput: 0, output: 0 } }),
  });
  try {
    const call = await h.call({ agent: "default" });
    call.prompt("Hello");
    await call.turn();
    const [request] = h.fake.requests;
    assert.equal(request.api, "responses");
    assert.equal(request.body.model, "gpt-test");
    for (const key of ["temperature", "max_output_tokens", "max_completion_tokens"]) {
      assert.equal(key in request.body, false, `${key} is left to the API's default`);
    }
    await call.hangUp();
    const page = await callPage(h.svc, call.callSid);
    assert.equal(fact(page, "model"), "gpt-test");
    assert.equal(fact(page, "api"), "responses");
    assert.equal(fact(page, "temperature"), "default");
    // MODEL_PRICES priced gpt-test at $1 per input token: the cost is the input token count.
    const [record] = await h.svc.services.records.store.findBySid(call.callSid);
    assert.ok(record.inputTokens > 0);
    assert.equal(record.costUsd, record.inputTokens);
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("realtime: the agent's model opens the socket; its limit, no temperature", async () => {
  const dir = await agentsDir({
    mode: "realtime",
    realtimeModel: "gpt-realtime-mini",
    temperature: 0.9,
    maxOutputTokens: 300,
  });
  const h = await startRealtime({
    env: { AGENTS_DIR: dir, OPENAI_REALTIME_MODEL: "gpt-realtime" },
    fake: { reply: { audioMs: 200, deltaMs: 100, speed: 8 } },
  });
  try {
    const client = await h.call({ start: false });
    await h.start(client, { agent: "tuned" });
    // The socket opened before the agent was known is replaced by one for the agent's model.
    const session = await h.fake.sessions.waitFor((s) => s.model === "gpt-realtime-mini", {
      what: "a session for the agent's model",
    });
    const update = await session.events.waitFor((e) => e.type === "session.update", {
      what: "configured",
    });
    const sent = update.session as Json;
    assert.equal(sent.model, "gpt-realtime-mini");
    assert.equal(sent.max_output_tokens, 300);
    assert.equal("temperature" in sent, false, "the GA Realtime API has no temperature");
    await waitUntil(() => h.logs("realtime.ready").length === 1, { what: "session ready" });
    // No session.update went to a socket opened for another model.
    for (const s of h.fake.sessions.items) {
      if (s.model !== "gpt-realtime-mini") {
        assert.equal(s.events.items.some((e) => e.type === "session.update"), false);
      }
    }
    // The greeting's response.done: its tokens, broken down, priced as gpt-realtime-mini's.
    const records = h.service.services.records;
    await waitUntil(() => records.openRecords()[0]?.outputTokens > 0, { what: "the greeting" });
    await client.disconnect();
    const page = await callPage(h.service, client.callSid);
    const [record] = await records.store.findBySid(client.callSid);
    // The fake's usage: text 20 in (10 cached) and 10 out; audio 100 in (50 cached) and 30 out.
    const text = 10 * 0.6 + 10 * 0.06 + 10 * 2.4;
    const audio = 50 * 10 + 50 * 0.3 + 30 * 20;
    assert.ok(Math.abs(record.costUsd! - (text + audio) / 1e6) < 1e-12, String(record.costUsd));
    assert.equal(fact(page, "cost"), "$0.001146");
    assert.equal(fact(page, "model"), "gpt-realtime-mini");
    assert.equal(fact(page, "api"), "realtime");
    assert.equal(fact(page, "temperature"), "default");
    assert.equal(fact(page, "max-output-tokens"), "300");
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("realtime: an agent on the default model keeps its first socket", async () => {
  const dir = await agentsDir({ mode: "realtime", maxOutputTokens: "inf" });
  const h = await startRealtime({ env: { AGENTS_DIR: dir, REALTIME_GREETING: "" } });
  try {
    const client = await h.call({ start: false });
    await h.start(client, { agent: "tuned" });
    const session = await h.fake.session();
    const update = await session.events.waitFor((e) => e.type === "session.update", {
      what: "configured",
    });
    assert.equal((update.session as Json).max_output_tokens, "inf");
    await waitUntil(() => h.logs("realtime.ready").length === 1, { what: "session ready" });
    assert.equal(h.fake.sessions.items.length, 1, "no second socket");
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the fake OpenAI refuses what the real API refuses", async () => {
  const fake = new FakeOpenAI();
  const client = new OpenAI({ apiKey: fake.apiKey, baseURL: fake.start(), maxRetries: 0 });
  const messages = [{ role: "user" as const, content: "hi" }];
  const refused = async (make: () => Promise<unknown>, param: string) => {
    await assert.rejects(make, (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError, String(err));
      assert.equal(err.status, 400);
      assert.equal(err.param, param);
      return true;
    });
  };
  try {
    const chat = (body: Json) =>
      client.chat.completions.create({ model: "gpt-4.1", messages, stream: true, ...body });
    const responses = (body: Json) =>
      client.responses.create({ model: "gpt-4.1", input: "hi", stream: true, ...body });
    await refused(() => chat({ temperature: 2.5 }), "temperature");
    await refused(() => chat({ model: "o3", temperature: 0.5 }), "temperature");
    await refused(() => chat({ max_completion_tokens: 0 }), "max_completion_tokens");
    await refused(() => responses({ temperature: -1 }), "temperature");
    await refused(() => responses({ model: "gpt-5-mini", temperature: 1 }), "temperature");
    await refused(() => responses({ max_output_tokens: 15 }), "max_output_tokens");
    // And takes what it takes.
    const ok = await responses({ temperature: 2, max_output_tokens: 16 });
    for await (const _ of ok as AsyncIterable<unknown>) { /* drain */ }
    assert.equal(fake.requests.length, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("the fake Realtime API refuses a temperature, a bad limit, a model change", async () => {
  const fake = new FakeRealtime();
  const base = fake.start().replace(/^http/, "ws");
  const ws = new NoDelayWebSocket(`${base}/realtime?model=gpt-realtime`, {
    headers: { Authorization: "Bearer sk-test" },
  });
  try {
    await new Promise((resolve) => ws.addEventListener("open", resolve));
    const session = await fake.session();
    const updates: Json[] = [
      { type: "realtime", temperature: 0.8 },
      { type: "realtime", max_output_tokens: 4097 },
      { type: "realtime", max_output_tokens: 0 },
      { type: "realtime", model: "gpt-realtime-mini" },
      // Accepted: the socket's own model, and the limits' ends.
      { type: "realtime", model: "gpt-realtime", max_output_tokens: 4096 },
      { type: "realtime", max_output_tokens: "inf" },
    ];
    for (const update of updates) {
      ws.send(JSON.stringify({ type: "session.update", session: update }));
    }
    await session.events.waitFor(() => session.events.items.length === updates.length, {
      what: "every update",
    });
    await session.errors.waitFor(() => session.errors.items.length === 4, {
      what: "four refusals",
    });
    assert.deepEqual(session.errors.items.map((e) => e.param), [
      "session.temperature",
      "session.max_output_tokens",
      "session.max_output_tokens",
      "session.model",
    ]);
    assert.equal(session.configured, true, "the two good updates were taken");
  } finally {
    ws.close();
    await fake.close();
  }
});
