/** Media Streams and Realtime GA parsers and builders: validation and exact wire text. */

import assert from "node:assert/strict";
import {
  base64ByteLength,
  MediaStreamWriter,
  parseMediaStreamMessage,
} from "../lib/protocols/media_streams.ts";
import { appendAudio, parseServerEvent, sessionUpdate } from "../lib/protocols/openai_realtime.ts";
import { MEDIA_STREAMS, twilioFrame } from "./fakes/twilio_frames.ts";

Deno.test("base64ByteLength matches the decoded length without decoding", () => {
  for (let n = 0; n < 20; n++) {
    const b64 = btoa("x".repeat(n));
    assert.equal(base64ByteLength(b64), n);
  }
});

/** The key paths of a JSON value, in order: two messages with the same shape and field order agree. */
function keyPaths(value: unknown, prefix = ""): string[] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return [];
  return Object.entries(value).flatMap((
    [k, v],
  ) => [`${prefix}${k}`, ...keyPaths(v, `${prefix}${k}.`)]);
}

Deno.test("MediaStreamWriter builds valid Twilio JSON by concatenation", () => {
  const w = new MediaStreamWriter('MZ"odd');
  assert.deepEqual(JSON.parse(w.media("AAEC")), {
    event: "media",
    streamSid: 'MZ"odd',
    media: { payload: "AAEC" },
  });
  assert.deepEqual(JSON.parse(w.mark("0:item_1:20")), {
    event: "mark",
    streamSid: 'MZ"odd',
    mark: { name: "0:item_1:20" },
  });
  assert.deepEqual(JSON.parse(w.clear()), { event: "clear", streamSid: 'MZ"odd' });
  assert.deepEqual(JSON.parse(appendAudio("AAEC")), {
    type: "input_audio_buffer.append",
    audio: "AAEC",
  });
  // Field for field, in the order of Twilio's own examples.
  const { toTwilio } = MEDIA_STREAMS;
  assert.deepEqual(keyPaths(JSON.parse(w.media("AAEC"))), keyPaths(toTwilio.media));
  assert.deepEqual(keyPaths(JSON.parse(w.mark("m"))), keyPaths(toTwilio.mark));
  assert.deepEqual(keyPaths(JSON.parse(w.clear())), keyPaths(toTwilio.clear));
});

/** Runs `fn` and counts the calls to JSON.parse it made. */
function countJsonParses(fn: () => void): number {
  const parse = JSON.parse;
  let calls = 0;
  JSON.parse = (...args: Parameters<typeof JSON.parse>) => {
    calls++;
    return parse(...args);
  };
  try {
    fn();
  } finally {
    JSON.parse = parse;
  }
  return calls;
}

Deno.test("media and mark frames exactly as Twilio's docs show them take the fast path", () => {
  const { fromTwilio } = MEDIA_STREAMS;
  // The docs' example, compact as on the wire; only its abbreviated payload is made real base64.
  const media = twilioFrame(fromTwilio.media, { media: { payload: "no+JhoaJjpzSAAEC" } });
  assert.match(
    media,
    /^\{"event":"media","sequenceNumber":"4","media":\{.*\},"streamSid":"MZX+"\}$/,
  );
  const mark = JSON.stringify(fromTwilio.mark);
  let parsed: ReturnType<typeof parseMediaStreamMessage>[] = [];
  const parses = countJsonParses(() => {
    parsed = [parseMediaStreamMessage(media), parseMediaStreamMessage(mark)];
  });
  assert.deepEqual(parsed, [
    { ok: true, message: { event: "media", payload: "no+JhoaJjpzSAAEC", timestamp: 5 } },
    { ok: true, message: { event: "mark", name: "my label" } },
  ]);
  assert.equal(parses, 0, "no frame was parsed as JSON");
  // The spy sees a frame that misses the fast path (another field order).
  const other = reordered(media);
  assert.equal(countJsonParses(() => parseMediaStreamMessage(other)), 1);
});

Deno.test("parseMediaStreamMessage validates and never throws", () => {
  const start = parseMediaStreamMessage(JSON.stringify({
    event: "start",
    sequenceNumber: "1",
    streamSid: `MZ${"1".repeat(32)}`,
    start: {
      streamSid: `MZ${"1".repeat(32)}`,
      callSid: `CA${"2".repeat(32)}`,
      customParameters: { agent: "x", n: 2 },
    },
  }));
  assert.ok(start.ok && start.message.event === "start");
  assert.deepEqual(start.message.customParameters, { agent: "x", n: "2" });
  for (
    const bad of [
      "",
      "null",
      '{"event":"media","media":{"payload":"a\\"b"}}',
      '{"event":"media","media":{"payload":"AAEC","track":"outbound"}}',
      '{"event":"dtmf","dtmf":{"digit":"12"}}',
      '{"event":"start","start":{}}',
      '{"event":"mark","mark":{"name":""}}',
    ]
  ) {
    assert.equal(parseMediaStreamMessage(bad).ok, false, bad);
  }
});

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

Deno.test("GA server events the bridge does not act on are ignored, not counted as bad frames", () => {
  // Each is a member of the openai SDK's RealtimeServerEvent union (checked at compile time).
  for (
    const type of [
      "mcp_list_tools.in_progress",
      "mcp_list_tools.completed",
      "mcp_list_tools.failed",
      "response.mcp_call_arguments.delta",
      "response.mcp_call.completed",
      "input_audio_buffer.dtmf_event_received",
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

/** The same message with its keys in another order: only the full parser reads it. */
function reordered(json: string): string {
  const reverse = (value: unknown): unknown =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverse(v)]))
      : value;
  return JSON.stringify(reverse(JSON.parse(json)));
}

/** Each frame (in the fast-path shape) parses, and exactly as its reordered copy does. */
function assertFastPathAgrees(parse: (data: unknown) => { ok: boolean }, frames: string[]) {
  for (const frame of frames) {
    const fast = parse(frame);
    assert.ok(fast.ok, frame);
    assert.deepEqual(fast, parse(reordered(frame)), frame);
  }
}

Deno.test("Twilio media and mark fast paths agree with the full parser, else fall back to it", () => {
  const { fromTwilio } = MEDIA_STREAMS;
  // Built from Twilio's examples (their field order); the values go in raw, unescaped on purpose.
  const media = (payload: string, track = "inbound", timestamp = "40") =>
    twilioFrame(fromTwilio.media, {
      media: { track: "⟨t⟩", timestamp: "⟨s⟩", payload: "⟨p⟩" },
      streamSid: "MZ0a1",
    }).replace("⟨t⟩", track).replace("⟨s⟩", timestamp).replace("⟨p⟩", payload);
  const mark = (name: string) =>
    twilioFrame(fromTwilio.mark, { streamSid: "MZ0a1", mark: { name: "⟨n⟩" } }).replace(
      "⟨n⟩",
      name,
    );
  const frames = [
    media("AAEC/+8="),
    media(""),
    media("AAEC", "inbound", "1".repeat(400)), // timestamp not finite: 0, as the full parser says
    mark("0:item_1:20"),
    mark("a b:é€😀"),
  ];
  assertFastPathAgrees(parseMediaStreamMessage, frames);
  // Look like the fast shape but are not: decided by the full parser.
  assert.deepEqual(parseMediaStreamMessage(media("AA\\/C")), {
    ok: true,
    message: { event: "media", payload: "AA/C", timestamp: 40 },
  });
  assert.deepEqual(parseMediaStreamMessage(mark('a\\"b')), {
    ok: true,
    message: { event: "mark", name: 'a"b' },
  });
  for (
    const bad of [
      media("AAE"),
      media("AA=C"),
      media("AAEC", "outbound"),
      media("AAEC").slice(0, -1),
      media("AAEC") + " x",
      mark(""),
      mark("a\u0001b"),
    ]
  ) {
    assert.equal(parseMediaStreamMessage(bad).ok, false, bad);
  }
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
