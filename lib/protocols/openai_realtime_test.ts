/** The OpenAI Realtime (GA) parser and builders: validation, exact wire text, and the fast path. */

import assert from "node:assert/strict";
import { assertFastPathAgrees } from "../../tests/helpers/fast_path.ts";
import { parseServerEvent, sessionUpdate } from "./openai_realtime.ts";

Deno.test("parseServerEvent: GA events parsed, beta and unknown rejected", () => {
  const delta = parseServerEvent(
    '{"type":"response.output_audio.delta","response_id":"r","item_id":"i","delta":"AAEC"}',
  );
  assert.deepEqual(delta, {
    ok: true,
    message: { type: "response.output_audio.delta", responseId: "r", itemId: "i", delta: "AAEC" },
  });
  assert.equal(parseServerEvent('{"type":"response.audio.delta","delta":"AAEC"}').ok, false);
  assert.equal(parseServerEvent('{"type":"response.output_audio.delta","delta":"%"}').ok, false);
  assert.deepEqual(parseServerEvent('{"type":"rate_limits.updated"}'), {
    ok: true,
    message: { type: "other", name: "rate_limits.updated" },
  });
  const done = parseServerEvent(JSON.stringify({
    type: "response.done",
    response: { id: "r", status: "completed", usage: { input_tokens: 3, output_tokens: 4 } },
  }));
  assert.ok(done.ok && done.message.type === "response.done");
  assert.deepEqual(done.message.usage, { inputTokens: 3, outputTokens: 4, totalTokens: 7 });
});

Deno.test("a SIP caller's key press: input_audio_buffer.dtmf_event_received", () => {
  const frame = { type: "input_audio_buffer.dtmf_event_received", event: "#", received_at: 1 };
  assert.deepEqual(parseServerEvent(JSON.stringify(frame)), {
    ok: true,
    message: { type: "input_audio_buffer.dtmf_event_received", key: "#" },
  });
  // A missing, empty, long or foreign key is a bad frame, as on Media Streams.
  for (const event of [undefined, "", "##", "E", 1]) {
    assert.deepEqual(
      parseServerEvent(JSON.stringify({ ...frame, event })),
      { ok: false, error: "input_audio_buffer.dtmf_event_received without a valid digit" },
      String(event),
    );
  }
});

Deno.test("GA server events the bridge does not act on are ignored, not counted as bad frames", () => {
  // Each is a member of the openai SDK's RealtimeServerEvent union (checked at compile time).
  for (
    const type of [
      "mcp_list_tools.in_progress",
      "mcp_list_tools.completed",
      "mcp_list_tools.failed",
      "response.mcp_call_arguments.delta",
      "response.mcp_call.completed",
      "input_audio_buffer.timeout_triggered",
      "conversation.item.input_audio_transcription.segment",
    ]
  ) {
    assert.deepEqual(parseServerEvent(JSON.stringify({ type, event_id: "e1" })), {
      ok: true,
      message: { type: "other", name: type },
    }, type);
  }
  assert.equal(parseServerEvent('{"type":"made.up"}').ok, false);
});

Deno.test("sessionUpdate: semantic_vad with eagerness, no transcription when the model is empty", () => {
  const update = JSON.parse(sessionUpdate({
    model: "gpt-realtime",
    voice: "cedar",
    instructions: "Be brief.",
    turnDetection: { type: "semantic_vad", eagerness: "low" },
    transcriptionModel: "",
  }));
  assert.deepEqual(update.session.audio.input, {
    format: { type: "audio/pcmu" },
    turn_detection: {
      type: "semantic_vad",
      eagerness: "low",
      create_response: true,
      interrupt_response: true,
    },
  });
  assert.equal(update.session.audio.output.voice, "cedar");
});

Deno.test("Realtime audio delta fast path agrees with the full parser, else falls back to it", () => {
  const delta = (ids: string, audio = "AAEC") =>
    `{"type":"response.output_audio.delta",${ids},"output_index":0,"content_index":0,` +
    `"delta":"${audio}"}`;
  const frames = [
    delta('"event_id":"e","response_id":"resp_1","item_id":"item_2"'),
    delta('"response_id":"","item_id":"item_2"', ""),
    `{"event_id":"event_9",${delta('"response_id":"r","item_id":"i"').slice(1)}`,
  ];
  assertFastPathAgrees(parseServerEvent, frames);
  assert.deepEqual(parseServerEvent(delta('"response_id":"r","item_id":"i\\u0031"')), {
    ok: true,
    message: { type: "response.output_audio.delta", responseId: "r", itemId: "i1", delta: "AAEC" },
  });
  for (
    const bad of [
      delta('"response_id":"r","item_id":""'),
      delta('"response_id":"r","item_id":"i"', "AAE"),
      delta('"response_id":"r","item_id":"i"').slice(0, -1),
    ]
  ) {
    assert.equal(parseServerEvent(bad).ok, false, bad);
  }
});
