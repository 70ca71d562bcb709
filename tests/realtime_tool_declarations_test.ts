/**
 * The fake Realtime API refuses tool declarations and `tool_choice` values the real API refuses,
 * with the real `error` event (`invalid_request_error`, a code, and a `param` naming the field;
 * the real API's own wording where it is known, e.g. "Missing required parameter:
 * 'session.tools[0].name'."), and leaves the session unconfigured. So the service's
 * declarations are checked in every realtime test: the harness's teardown fails on a refused
 * `session.update`, and a service whose declarations lose `type: "function"` never gets a
 * session ready.
 */

import assert from "node:assert/strict";
import { EventLog } from "./fakes/event_log.ts";
import { FakeRealtime } from "./fakes/fake_realtime.ts";
import realtimeErrors from "./fixtures/openai_realtime_errors.json" with { type: "json" };
import { startRealtime } from "./helpers/realtime_harness.ts";

type Json = Record<string, unknown>;

/** A raw client of the fake (what the service's upstream socket would be). */
async function withSession(
  fn: (send: (event: Json) => void, events: EventLog<Json>) => Promise<void>,
) {
  const fake = new FakeRealtime();
  const url = `${fake.start().replace(/^http/, "ws")}/realtime?model=gpt-realtime`;
  const ws =
    new (WebSocket as unknown as new (url: string, o: { headers: HeadersInit }) => WebSocket)(
      url,
      { headers: { Authorization: "Bearer sk-test-tools" } },
    );
  const events = new EventLog<Json>();
  ws.addEventListener("message", (ev) => events.push(JSON.parse(String(ev.data))));
  const closed = new Promise((resolve) => ws.addEventListener("close", resolve));
  try {
    await events.waitFor((e) => e.type === "session.created", { what: "session.created" });
    await fn((event) => ws.send(JSON.stringify(event)), events);
  } finally {
    ws.close();
    await closed;
    await fake.close();
  }
}

const END_CALL = {
  type: "function",
  name: "end_call",
  description: "Ends the call once the caller is done.",
  parameters: { type: "object", properties: {} },
};

/** `session.update` with `tools` (and `tool_choice`), the rest as the service sends it. */
function update(tools: unknown[], toolChoice: unknown = "auto", eventId?: string): Json {
  return {
    ...(eventId ? { event_id: eventId } : {}),
    type: "session.update",
    session: {
      type: "realtime",
      model: "gpt-realtime",
      output_modalities: ["audio"],
      audio: {
        input: { format: { type: "audio/pcmu" } },
        output: { format: { type: "audio/pcmu" } },
      },
      tools,
      tool_choice: toolChoice,
    },
  };
}

Deno.test('fake Realtime: a tool without type "function" is refused', async () => {
  await withSession(async (send, events) => {
    const { type: _type, ...untyped } = END_CALL;
    send(update([END_CALL, untyped], "auto", "evt_client_1"));
    const error = await events.waitFor((e) => e.type === "error", { what: "the error event" });
    // RealtimeErrorEvent as the API reference's example shows it (event_id, type, error{…}).
    assert.deepEqual(Object.keys(error).sort(), Object.keys(realtimeErrors.example).sort());
    assert.deepEqual(
      Object.keys(error.error as Json).sort(),
      Object.keys(realtimeErrors.example.error).sort(),
    );
    assert.equal(typeof error.event_id, "string");
    assert.deepEqual(error.error, {
      type: "invalid_request_error",
      code: "missing_required_parameter",
      message: "Missing required parameter: 'session.tools[1].type'.",
      param: "session.tools[1].type",
      event_id: "evt_client_1",
    });
    // The whole update is refused: the session is not configured, so audio is refused too.
    send({ type: "input_audio_buffer.append", audio: "AAAA" });
    const next = await events.waitFor((e) => e.type === "error" && e !== error, {
      what: "the append's error",
    });
    assert.equal((next.error as Json).code, "audio_format_mismatch");
    assert.ok(!events.items.some((e) => e.type === "session.updated"));
    // The same declaration with its type is accepted.
    send(update([END_CALL]));
    const updated = await events.waitFor((e) => e.type === "session.updated", { what: "updated" });
    assert.deepEqual((updated.session as Json).tools, [END_CALL]);
  });
});

/** Errors the live API returned for tool declarations (see the fixture for their sources). */
const LIVE = realtimeErrors.live;

/** Declarations and choices the real API refuses: the code and param (and message) of its error. */
const REFUSED: {
  what: string;
  tools: unknown[];
  choice?: unknown;
  code: string;
  param: string;
  /** The live API's own message for it, where known. */
  live?: string;
}[] = [
  {
    what: "a Chat Completions-shaped declaration (nested `function`)",
    tools: [{ type: "function", function: { name: "end_call", parameters: {} } }],
    code: "missing_required_parameter",
    param: "session.tools[0].name",
    live: LIVE.nestedFunctionTool.message,
  },
  {
    what: "no name",
    tools: [{ type: "function", description: "x", parameters: { type: "object" } }],
    code: "missing_required_parameter",
    param: "session.tools[0].name",
  },
  {
    what: "a type the API does not have",
    tools: [{ ...END_CALL, type: "tool" }],
    code: "invalid_value",
    param: "session.tools[0].type",
  },
  {
    what: "a name with a space",
    tools: [{ ...END_CALL, name: "end call" }],
    code: "invalid_value",
    param: "session.tools[0].name",
  },
  {
    what: "a name of 65 characters",
    tools: [{ ...END_CALL, name: "x".repeat(65) }],
    code: "string_above_max_length",
    param: "session.tools[0].name",
  },
  {
    what: "`strict` (a Responses API field)",
    tools: [{ ...END_CALL, strict: false }],
    code: "unknown_parameter",
    param: "session.tools[0].strict",
    live: LIVE.strictOnSessionTool.message,
  },
  {
    what: "a description that is not a string",
    tools: [{ ...END_CALL, description: 42 }],
    code: "invalid_type",
    param: "session.tools[0].description",
  },
  {
    what: "parameters that are not an object schema",
    tools: [{ ...END_CALL, parameters: { type: "string" } }],
    code: "invalid_function_parameters",
    param: "session.tools[0].parameters",
  },
  {
    what: "parameters that are not a JSON Schema",
    tools: [{ ...END_CALL, parameters: { type: "object", properties: { a: { type: 7 } } } }],
    code: "invalid_function_parameters",
    param: "session.tools[0].parameters",
  },
  {
    what: "tools that are not a list",
    tools: END_CALL as unknown as unknown[],
    code: "invalid_type",
    param: "session.tools",
  },
  {
    what: "a tool_choice that is not an option",
    tools: [END_CALL],
    choice: "always",
    code: "invalid_value",
    param: "session.tool_choice",
  },
  {
    what: "a tool_choice naming a function that is not declared",
    tools: [END_CALL],
    choice: { type: "function", name: "transfer" },
    code: "invalid_value",
    param: "session.tool_choice.name",
  },
];

Deno.test("fake Realtime: bad declarations and tool_choice refused, by field", async () => {
  await withSession(async (send, events) => {
    for (const [i, refused] of REFUSED.entries()) {
      send(update(refused.tools, refused.choice ?? "auto", `evt_${i}`));
      const error = await events.waitFor(
        (e) => e.type === "error" && (e.error as Json).event_id === `evt_${i}`,
        { what: refused.what },
      );
      const { type, code, param, message } = error.error as Json;
      assert.deepEqual({ type, code, param }, {
        type: "invalid_request_error",
        code: refused.code,
        param: refused.param,
      }, refused.what);
      if (refused.live) assert.equal(message, refused.live, refused.what);
    }
    assert.ok(!events.items.some((e) => e.type === "session.updated"), "none was accepted");
    for (const choice of ["none", "auto", "required", { type: "function", name: "end_call" }]) {
      send(update([END_CALL], choice));
    }
    await events.waitFor((e) => e.type === "session.updated", { what: "a valid choice" });
  });
});

Deno.test("realtime: the service's own tool declarations pass the fake's checks", async () => {
  const h = await startRealtime();
  try {
    // The default agent declares the built-in tools (end_call, transfer_to_human, …).
    const client = await h.call();
    const session = await h.fake.session();
    const update = await session.events.waitFor((e) => e.type === "session.update", {
      what: "session.update",
    });
    const tools = (update.session as { tools: { type: string; name: string }[] }).tools;
    assert.ok(tools.length > 0, "the agent declares tools");
    assert.ok(tools.every((t) => t.type === "function"));
    await session.events.waitFor((e) => e.type === "response.create", {
      what: "the greeting, asked for once the session was configured",
    });
    assert.ok(session.configured);
    assert.deepEqual(session.errors.items, []);
    await client.close();
  } finally {
    await h.close();
  }
});
