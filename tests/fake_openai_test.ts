/**
 * The fake OpenAI server, checked with the real `openai` SDK: what it streams parses as the real
 * wire format (in-band failures included: `response.failed` as OpenAI's docs show it), and what
 * the real service rejects it rejects too.
 */

import assert from "node:assert/strict";
import OpenAI from "openai";
import { FakeOpenAI } from "./fakes/fake_openai.ts";
import responsesFixture from "./fixtures/openai_responses_stream.json" with { type: "json" };
import { within } from "./helpers/relay_harness.ts";

async function withFake(fn: (fake: FakeOpenAI, client: OpenAI) => Promise<void>): Promise<void> {
  const fake = new FakeOpenAI();
  const client = new OpenAI({ apiKey: fake.apiKey, baseURL: fake.start(), maxRetries: 0 });
  try {
    await fn(fake, client);
  } finally {
    await fake.close();
  }
}

Deno.test("chat completions stream: role chunk, content deltas, stop, usage, [DONE]", async () => {
  await withFake(async (fake, client) => {
    fake.script({ tokens: ["Hel", "lo ", "there."] });
    const stream = await client.chat.completions.create({
      model: "gpt-test",
      messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks[0].choices[0].delta.role, "assistant");
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    assert.equal(text, "Hello there.");
    assert.equal(chunks.at(-2)?.choices[0].finish_reason, "stop");
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage && last.usage.completion_tokens > 0);
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === chunks[0].id));
  });
});

Deno.test("responses stream: created … output_text.delta … completed with usage", async () => {
  await withFake(async (fake, client) => {
    fake.script({ tokens: ["Good ", "day."] });
    const stream = await client.responses.create({
      model: "gpt-test",
      instructions: "be brief",
      input: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }],
      stream: true,
      store: false,
    });
    const events = [];
    for await (const event of stream) events.push(event);
    assert.deepEqual(events.map((e) => e.type), [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    const done = events.at(-1);
    assert.ok(done?.type === "response.completed");
    const message = done.response.output[0];
    assert.ok(message.type === "message" && message.content[0].type === "output_text");
    assert.equal(message.content[0].text, "Good day.");
    assert.ok(done.response.usage && done.response.usage.output_tokens > 0);
  });
});

Deno.test("the fake rejects what the real API rejects", async () => {
  await withFake(async (fake, client) => {
    const bad = new OpenAI({ apiKey: "sk-wrong", baseURL: fake.baseUrl, maxRetries: 0 });
    await assert.rejects(
      bad.chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        stream: true,
      }),
      OpenAI.AuthenticationError,
    );
    await assert.rejects(
      client.chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        stream: false,
        stream_options: { include_usage: true },
      }),
      (err) =>
        err instanceof OpenAI.BadRequestError && /only allowed when 'stream'/.test(err.message),
    );
    await assert.rejects(
      client.chat.completions.create({
        model: "m",
        messages: [{ role: "narrator" as "user", content: "x" }],
        stream: true,
      }),
      OpenAI.BadRequestError,
    );
    await assert.rejects(
      client.responses.create({
        model: "m",
        input: "x",
        stream: true,
        // An unknown parameter, as a typo would send it.
        ...{ temprature: 1 },
      }),
      (err) =>
        err instanceof OpenAI.BadRequestError &&
        /Unknown parameter: 'temprature'/.test(err.message),
    );
    fake.script({ status: 500 });
    await assert.rejects(
      client.chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        stream: true,
      }),
      OpenAI.InternalServerError,
    );
  });
});

Deno.test("structured outputs: a schema strict mode does not take is refused with its param", async () => {
  await withFake(async (_fake, client) => {
    // An object open to more properties: strict mode wants `additionalProperties: false`.
    const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] };
    await assert.rejects(
      client.chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        response_format: {
          type: "json_schema",
          json_schema: { name: "verdict", schema, strict: true },
        },
      }),
      (err) =>
        err instanceof OpenAI.BadRequestError && err.param === "response_format" &&
        /^400 Invalid schema for response_format 'verdict'/.test(err.message),
    );
    await assert.rejects(
      client.responses.create({
        model: "m",
        input: "x",
        text: { format: { type: "json_schema", name: "bad name!", schema } },
      }),
      (err) => err instanceof OpenAI.BadRequestError && err.param === "text.format.name",
    );
  });
});

Deno.test("the fake sees a client abort at once", async () => {
  await withFake(async (fake, client) => {
    fake.script({ tokens: ["a", "b", "c"], holdAfter: 1 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    }, { signal: controller.signal });
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content === "a") controller.abort();
    }
    await within(fake.requests[0].aborted, 2000, "abort seen by the fake");
    assert.deepEqual(fake.requests[0].tokensSent, ["a"]);
  });
});

Deno.test("tool calls: chat streams them in pieces, responses as function_call items", async () => {
  await withFake(async (fake, client) => {
    const calls = [{ name: "lookup", arguments: '{"id":"42"}' }, {
      name: "end_call",
      arguments: "{}",
    }];
    fake.script({ toolCalls: calls }, { toolCalls: calls });
    const chat = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }],
      stream: true,
    });
    const args: Record<number, string> = {};
    let finish = "";
    for await (const chunk of chat) {
      for (const t of chunk.choices[0]?.delta?.tool_calls ?? []) {
        args[t.index] = (args[t.index] ?? "") + (t.function?.arguments ?? "");
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.deepEqual(args, { 0: '{"id":"42"}', 1: "{}" });
    assert.equal(finish, "tool_calls");
    const responses = await client.responses.create({
      model: "m",
      input: "x",
      tools: [{ type: "function", name: "lookup", parameters: { type: "object" }, strict: false }],
      stream: true,
    });
    const done = [];
    for await (const e of responses) {
      if (e.type === "response.output_item.done" && e.item.type === "function_call") {
        done.push(e.item);
      }
      assert.notEqual(e.type, "response.output_text.delta");
    }
    assert.deepEqual(
      done.map((i) => [i.name, i.arguments]),
      calls.map((c) => [c.name, c.arguments]),
    );
  });
});

Deno.test("tool history: unanswered calls, orphan outputs rejected like the real API", async () => {
  await withFake(async (_fake, client) => {
    await assert.rejects(
      client.chat.completions.create({
        model: "m",
        messages: [
          { role: "user", content: "x" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{
              id: "call_1",
              type: "function",
              function: { name: "f", arguments: "{}" },
            }],
          },
          { role: "user", content: "y" },
        ],
        stream: true,
      }),
      (err) =>
        err instanceof OpenAI.BadRequestError &&
        /did not have response messages: call_1/.test(err.message),
    );
    await assert.rejects(
      client.responses.create({
        model: "m",
        input: [{ type: "function_call_output", call_id: "call_9", output: "{}" }],
        stream: true,
      }),
      (err) => err instanceof OpenAI.BadRequestError && /No tool call found/.test(err.message),
    );
    await assert.rejects(
      client.responses.create({
        model: "m",
        input: [{ type: "function_call", call_id: "call_8", name: "f", arguments: "{}" }],
        stream: true,
      }),
      (err) => err instanceof OpenAI.BadRequestError && /No tool output found/.test(err.message),
    );
  });
});

Deno.test("responses stream: response.failed as the docs show it, parsed by the SDK", async () => {
  await withFake(async (fake, client) => {
    fake.script({ tokens: ["Let me ", "check"], responseFailed: true });
    const stream = await client.responses.create({
      model: "gpt-test",
      instructions: "be brief",
      input: "where is my order?",
      stream: true,
      store: false,
    });
    const events = [];
    for await (const event of stream) events.push(event);
    assert.deepEqual(events.map((e) => e.type).slice(-3), [
      "response.output_text.delta",
      "response.output_text.delta",
      "response.failed",
    ]);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    const failed = events.at(-1);
    assert.ok(failed?.type === "response.failed");
    // The docs' example, with this response's own id and model.
    const example = responsesFixture.events["response.failed"].response;
    assert.deepEqual(Object.keys(failed.response), Object.keys(example));
    assert.equal(
      failed.response.id,
      events[0].type === "response.created" && events[0].response.id,
    );
    assert.equal(failed.response.status, "failed");
    assert.equal(failed.response.model, "gpt-test");
    assert.deepEqual(failed.response.error, {
      code: "server_error",
      message: "The model failed to generate a response.",
    });
  });
});

Deno.test("burstAfter: held after the first token, the rest written on the release", async () => {
  await withFake(async (fake, client) => {
    fake.script({ tokens: ["a", "b", "c", "d"], burstAfter: 1 });
    const stream = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    const seen: string[] = [];
    for await (const chunk of stream) {
      const text = chunk.choices[0]?.delta?.content;
      if (!text) continue;
      seen.push(text);
      if (text === "a") {
        // Held after the first token: nothing more until the release.
        assert.deepEqual(fake.requests[0].tokensSent, ["a"]);
        fake.requests[0].release();
      }
    }
    assert.deepEqual(seen, ["a", "b", "c", "d"]);
  });
});
