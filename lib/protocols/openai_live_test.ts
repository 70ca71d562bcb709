/**
 * The GPT-Live protocol module: the client events as the SDK types them (µ-law both ways, tools
 * by Responses delegation), the audio append spliced without JSON, and the server events parsed
 * (the fast audio path and the full parser agree; nested Responses events; bad frames refused).
 */

import assert from "node:assert/strict";
import {
  appendLiveAudio,
  closeSession,
  commentary,
  continueResponse,
  delegatedEvent,
  liveFunctionOutput,
  parseLiveEvent,
  sendDtmf,
  sessionStart,
} from "./openai_live.ts";

Deno.test("sessionStart: pcmu at 8 kHz, the voice, instructions and function tools delegated", () => {
  const start = JSON.parse(sessionStart({
    model: "gpt-live-1",
    voice: "coral",
    instructions: "Be kind.",
    delegationModel: "gpt-4.1-mini",
    tools: [{ name: "end_call", description: "Ends the call.", parameters: { type: "object" } }],
  }));
  assert.deepEqual(start, {
    type: "session.start",
    session: {
      model: "gpt-live-1",
      instructions: "Be kind.",
      audio: { format: { type: "audio/pcmu", rate: 8000 }, output: { voice: "coral" } },
      delegation: {
        type: "responses",
        responses: {
          model: "gpt-4.1-mini",
          instructions: "Be kind.",
          tools: [{
            type: "function",
            name: "end_call",
            description: "Ends the call.",
            parameters: { type: "object" },
          }],
          parallel_tool_calls: true,
        },
      },
    },
  });
});

Deno.test("client events: the append is the SDK's JSON; outputs and continue", () => {
  assert.deepEqual(JSON.parse(appendLiveAudio("AAAA")), {
    type: "session.input_audio.append",
    audio: "AAAA",
  });
  assert.deepEqual(JSON.parse(liveFunctionOutput("call_1", "{}")), {
    type: "response.item.create",
    item: { type: "function_call_output", call_id: "call_1", output: "{}" },
  });
  assert.equal(continueResponse(), '{"type":"response.create"}');
});

Deno.test("parseLiveEvent: audio deltas by the fast path and the full parser agree", () => {
  const fast = parseLiveEvent('{"type":"session.output_audio.delta","delta":"AAAA"}');
  const full = parseLiveEvent('{ "type": "session.output_audio.delta", "delta": "AAAA" }');
  const expected = { ok: true, message: { type: "session.output_audio.delta", delta: "AAAA" } };
  assert.deepEqual(fast, expected);
  assert.deepEqual(full, expected);
  assert.equal(parseLiveEvent('{"type":"session.output_audio.delta","delta":"A!"}').ok, false);
});

Deno.test("parseLiveEvent: started, transcripts, delegations, usage, errors; unknown refused", () => {
  const ok = (frame: unknown) => {
    const parsed = parseLiveEvent(JSON.stringify(frame));
    assert.ok(parsed.ok, JSON.stringify(frame));
    return parsed.message;
  };
  assert.deepEqual(ok({ type: "session.started", session: { id: "live_1" } }), {
    type: "session.started",
    sessionId: "live_1",
  });
  assert.equal(parseLiveEvent('{"type":"session.started","session":{}}').ok, false);
  assert.deepEqual(ok({ type: "session.input_transcript.delta", delta: "hi", end_ms: 40 }), {
    type: "session.input_transcript.delta",
    delta: "hi",
    endMs: 40,
  });
  assert.deepEqual(
    ok({ type: "session.delegation.created", delegation: { id: "d1", target: "responses" } }),
    { type: "session.delegation.created", delegationId: "d1", target: "responses" },
  );
  assert.deepEqual(ok({ type: "session.usage.updated", usage: { seconds: 12.5 } }), {
    type: "session.usage.updated",
    seconds: 12.5,
  });
  assert.deepEqual(ok({ type: "error", error: { type: "t", code: "c", message: "m" } }), {
    type: "error",
    errorType: "t",
    code: "c",
    message: "m",
  });
  assert.deepEqual(ok({ type: "transport.ringing" }), { type: "other", name: "transport.ringing" });
  assert.equal(parseLiveEvent('{"type":"response.output_audio.delta"}').ok, false);
  assert.equal(parseLiveEvent("not json").ok, false);
});

Deno.test("delegatedEvent: function calls and the response's end, with its usage", () => {
  assert.deepEqual(
    delegatedEvent({
      type: "response.output_item.done",
      item: { type: "function_call", call_id: "c1", name: "end_call", arguments: "{}" },
    }),
    { kind: "function_call", callId: "c1", name: "end_call", arguments: "{}" },
  );
  assert.deepEqual(
    delegatedEvent({
      type: "response.completed",
      response: { id: "r1", status: "completed", usage: { input_tokens: 3, output_tokens: 4 } },
    }),
    {
      kind: "done",
      responseId: "r1",
      status: "completed",
      usage: { inputTokens: 3, outputTokens: 4 },
    },
  );
  assert.deepEqual(
    delegatedEvent({ type: "response.output_item.done", item: { type: "message" } }),
    {
      kind: "other",
    },
  );
  assert.deepEqual(delegatedEvent(null), { kind: "other" });
});

Deno.test("client events: commentary for the model to speak, and the session's close", () => {
  assert.deepEqual(JSON.parse(commentary("Greet the caller.")), {
    type: "session.commentary.append",
    content: "Greet the caller.",
    delegation_id: null,
  });
  assert.equal(closeSession(), '{"type":"session.close"}');
});

Deno.test("parseLiveEvent: a SIP caller's key press, as the sideband is told it", () => {
  assert.deepEqual(
    parseLiveEvent(
      JSON.stringify({ type: "transport.dtmf.received", event_id: "ev_1", event: "7" }),
    ),
    { ok: true, message: { type: "transport.dtmf.received", key: "7" } },
  );
  // A missing, empty, long or foreign key is a bad frame, as on Media Streams.
  for (const event of [undefined, "", "12", "x", 7]) {
    assert.deepEqual(
      parseLiveEvent(JSON.stringify({ type: "transport.dtmf.received", event_id: "e", event })),
      { ok: false, error: "transport.dtmf.received without a valid digit" },
      String(event),
    );
  }
});

Deno.test("parseLiveEvent: every event the bridge ignores is known, not bad", () => {
  const ignored = [
    "session.updated",
    "session.input_audio.muted",
    "session.input_audio.unmuted",
    "session.output_audio.fixture.playing",
    "session.output_audio.fixture.played",
    "session.instructions.appended",
    "session.thinking.appended",
    "session.commentary.appended",
    "session.input_audio.append",
    "decision.event",
    "decision.item.created",
    "decision.item.deleted",
    "info",
    "transport.dtmf.send",
    "transport.dtmf.sent",
    "transport.ringing",
    "transport.answered",
    "transport.failed",
  ];
  for (const type of ignored) {
    assert.deepEqual(parseLiveEvent(JSON.stringify({ type })), {
      ok: true,
      message: { type: "other", name: type },
    });
  }
});

Deno.test("parseLiveEvent: the rest of the events, and what is refused with its reason", () => {
  const parse = (frame: unknown) => parseLiveEvent(JSON.stringify(frame));
  assert.deepEqual(parse({ type: "session.output_transcript.delta", delta: "Hi" }), {
    ok: true,
    message: { type: "session.output_transcript.delta", delta: "Hi" },
  });
  assert.deepEqual(
    parse({
      type: "response.event",
      delegation_id: "d1",
      event: { type: "response.completed", response: { id: "r", status: "completed" } },
    }),
    {
      ok: true,
      message: {
        type: "response.event",
        delegationId: "d1",
        event: { kind: "done", responseId: "r", status: "completed", usage: null },
      },
    },
  );
  assert.deepEqual(parse({ type: "response.event", event: {} }), {
    ok: true,
    message: { type: "response.event", delegationId: null, event: { kind: "other" } },
  });
  assert.deepEqual(
    parse({ type: "session.closed", reason: "close_requested", usage: { seconds: 7 } }),
    { ok: true, message: { type: "session.closed", reason: "close_requested", seconds: 7 } },
  );
  assert.deepEqual(parse({ delta: "AAAA" }), { ok: false, error: "no type" });
  assert.deepEqual(parse({ type: "session.started", session: {} }), {
    ok: false,
    error: "session.started without session.id",
  });
  assert.deepEqual(parse({ type: "session.output_audio.delta", delta: 3 }), {
    ok: false,
    error: "audio delta without a base64 delta",
  });
  assert.deepEqual(parse({ type: "session.delegation.created", delegation: {} }), {
    ok: false,
    error: "delegation without an id",
  });
  const long = `x.${"y".repeat(100)}`;
  assert.deepEqual(parse({ type: long }), {
    ok: false,
    error: `unknown type "${long.slice(0, 60)}"`,
  });
  assert.deepEqual(parseLiveEvent(new Uint8Array([1])), { ok: false, error: "binary frame" });
});

Deno.test("parseLiveEvent: the fast path takes only whole base64; the rest goes to the parser", () => {
  // Either field order the API writes; a delta that is not whole base64 is refused.
  assert.deepEqual(parseLiveEvent('{"delta":"AAAA","type":"session.output_audio.delta"}'), {
    ok: true,
    message: { type: "session.output_audio.delta", delta: "AAAA" },
  });
  assert.deepEqual(parseLiveEvent('{"type":"session.output_audio.delta","delta":"AAA"}'), {
    ok: false,
    error: "audio delta without a base64 delta",
  });
  assert.deepEqual(parseLiveEvent('{"type":"session.output_audio.delta","delta":""}'), {
    ok: true,
    message: { type: "session.output_audio.delta", delta: "" },
  });
});

Deno.test("delegatedEvent: a function call needs its id and name; failed and incomplete end it", () => {
  const call = (item: Record<string, unknown>) =>
    delegatedEvent({ type: "response.output_item.done", item });
  assert.deepEqual(call({ type: "function_call", name: "end_call", arguments: "{}" }), {
    kind: "other",
  });
  assert.deepEqual(call({ type: "function_call", call_id: "c1", arguments: "{}" }), {
    kind: "other",
  });
  assert.deepEqual(delegatedEvent({ type: "response.created", item: { type: "function_call" } }), {
    kind: "other",
  });
  for (const type of ["response.failed", "response.incomplete"]) {
    assert.deepEqual(delegatedEvent({ type, response: { id: "r", status: "failed" } }), {
      kind: "done",
      responseId: "r",
      status: "failed",
      usage: null,
    });
  }
});

Deno.test("sendDtmf: one transport.dtmf.send per key, in the SDK's shape", () => {
  assert.equal(sendDtmf("5"), '{"type":"transport.dtmf.send","event":"5"}');
  assert.equal(sendDtmf("#"), '{"type":"transport.dtmf.send","event":"#"}');
});
