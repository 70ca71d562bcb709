/** The Media Streams parser and writer: validation, exact wire text, and the fast path. */

import assert from "node:assert/strict";
import { assertFastPathAgrees, reordered } from "../../tests/helpers/fast_path.ts";
import { MEDIA_STREAMS, twilioFrame } from "../../tests/fakes/twilio_frames.ts";
import {
  base64ByteLength,
  isDtmfDigit,
  MediaStreamWriter,
  parseMediaStreamMessage,
} from "./media_streams.ts";
import { appendAudio } from "./openai_realtime.ts";

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

Deno.test("isDtmfDigit: one key of 0-9, *, #, A-D (either case), nothing else", () => {
  for (const key of ["0", "9", "*", "#", "A", "d"]) assert.equal(isDtmfDigit(key), true, key);
  for (const bad of ["", "12", "E", "w", " ", 1, null, undefined]) {
    assert.equal(isDtmfDigit(bad), false, String(bad));
  }
});
