/**
 * The voice simulator's Twilio messages, held to Twilio's verbatim examples
 * (`tests/fixtures/twilio_media_streams.json`): the same fields in the same order at every
 * level, numbered as Twilio numbers them, and accepted by the service's own parser. And the
 * parser of what the service sends back.
 *
 * @module
 */

import assert from "node:assert/strict";
import fixture from "../../tests/fixtures/twilio_media_streams.json" with { type: "json" };
import { parseMediaStreamMessage } from "./media_streams.ts";
import {
  base64ToBytes,
  bytesToBase64,
  CallerStream,
  parseStreamOutbound,
  simulatedStreamIds,
} from "./media_streams_caller.ts";

/** The key paths of `value` in order (`a`, `a.b`, …), leaving out sample data. */
function shape(value: unknown, path = ""): string[] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) =>
    k === "customParameters" ? [`${path}${k}`] : [`${path}${k}`, ...shape(v, `${path}${k}.`)]
  );
}

const ids = simulatedStreamIds(`CA${"1".repeat(32)}`);

Deno.test("each message has the fields of Twilio's example, in its order", () => {
  const stream = new CallerStream(ids);
  const examples = fixture.fromTwilio;
  const built = {
    connected: stream.connected(),
    start: stream.start({ agent: "default" }),
    media: stream.media("/38=", 20),
    dtmf: stream.dtmf("5"),
    mark: stream.mark("m1"),
    stop: stream.stop(),
  };
  for (const [name, text] of Object.entries(built)) {
    const example = examples[name as keyof typeof examples];
    assert.deepEqual(shape(JSON.parse(text)), shape(example), name);
  }
  const start = JSON.parse(built.start);
  assert.deepEqual(start.start.mediaFormat, examples.start.start.mediaFormat);
  assert.deepEqual(start.start.tracks, ["inbound"]);
});

Deno.test("messages are numbered as Twilio numbers them, and the service parses them", () => {
  const stream = new CallerStream(ids);
  const frames = [
    stream.connected(),
    stream.start({ agent: "default", from: "+15550100123" }),
    stream.media("//8=", 0),
    stream.media("//8=", 20),
    stream.dtmf("#"),
    stream.mark("m"),
    stream.stop(),
  ];
  const numbers = frames.map((f) => JSON.parse(f).sequenceNumber);
  assert.deepEqual(numbers, [undefined, "1", "2", "3", "4", "5", "6"]);
  assert.deepEqual(frames.slice(2, 4).map((f) => JSON.parse(f).media.chunk), ["1", "2"]);
  const parsed = frames.map((f) => parseMediaStreamMessage(f));
  assert.deepEqual(parsed.map((p) => p.ok && p.message.event), [
    "connected",
    "start",
    "media",
    "media",
    "dtmf",
    "mark",
    "stop",
  ]);
  const start = parsed[1];
  assert.ok(start.ok && start.message.event === "start");
  assert.equal(start.message.streamSid, ids.streamSid);
  assert.deepEqual(start.message.customParameters, { agent: "default", from: "+15550100123" });
  const media = parsed[3];
  assert.deepEqual(media, {
    ok: true,
    message: { event: "media", payload: "//8=", timestamp: 20 },
  });
});

Deno.test("what the service sends back is parsed; anything else is refused", () => {
  assert.deepEqual(
    parseStreamOutbound('{"event":"media","streamSid":"MZ1","media":{"payload":"//8="}}'),
    { ok: true, message: { event: "media", payload: "//8=" } },
  );
  assert.deepEqual(
    parseStreamOutbound('{"event":"mark","streamSid":"MZ1","mark":{"name":"a:1"}}'),
    { ok: true, message: { event: "mark", name: "a:1" } },
  );
  assert.deepEqual(parseStreamOutbound('{"event":"clear","streamSid":"MZ1"}'), {
    ok: true,
    message: { event: "clear" },
  });
  assert.equal(parseStreamOutbound('{"event":"mark","mark":{}}').ok, false);
  assert.equal(parseStreamOutbound('{"event":"hello"}').ok, false);
  assert.equal(parseStreamOutbound("not json").ok, false);
});

Deno.test("base64 both ways, as payloads carry µ-law", () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(base64ToBytes(bytesToBase64(bytes)), bytes);
  assert.equal(bytesToBase64(new Uint8Array([0xff, 0xff])), "//8=");
  assert.deepEqual(base64ToBytes("not base64!"), new Uint8Array(0));
  assert.match(ids.streamSid, /^MZ[0-9a-f]{32}$/);
});
