/**
 * Twilio's messages as Twilio's docs show them: the fakes build every frame they send from the
 * verbatim examples in `tests/fixtures/` (the source of each is noted there), with the example's
 * values replaced and its field order kept. A field the docs' example does not have cannot be
 * added, so a fake cannot send what Twilio never sends.
 *
 * @module
 */

import mediaStreams from "../fixtures/twilio_media_streams.json" with { type: "json" };
import conversationRelay from "../fixtures/twilio_conversation_relay.json" with { type: "json" };

type Json = Record<string, unknown>;

/** The Media Streams examples (Twilio → app and app → Twilio). */
export const MEDIA_STREAMS = mediaStreams as unknown as {
  fromTwilio: Record<"connected" | "start" | "media" | "dtmf" | "mark" | "stop", Json>;
  toTwilio: Record<"media" | "mark" | "clear", Json>;
};

/** The ConversationRelay examples (Twilio → app and app → Twilio). */
export const CONVERSATION_RELAY = conversationRelay as unknown as {
  fromTwilio: Record<"setup" | "prompt" | "dtmf" | "interrupt" | "info" | "error", Json>;
  toTwilio: Record<"text" | "play" | "sendDigits" | "language" | "end", Json>;
};

/** Fields whose example content is sample data, replaced whole rather than field by field. */
const WHOLE = new Set(["customParameters", "tracks"]);

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * `example` with `values` in place of its own, in the example's field order; throws on a field
 * the example does not have.
 */
export function fillExample(example: Json, values: Json, path = ""): Json {
  for (const key of Object.keys(values)) {
    if (!(key in example)) {
      throw new Error(`Twilio's example has no field "${path}${key}": a fake must not invent one`);
    }
  }
  const out: Json = {};
  for (const [key, value] of Object.entries(example)) {
    if (!(key in values)) out[key] = value;
    else if (isObject(value) && isObject(values[key]) && !WHOLE.has(key)) {
      out[key] = fillExample(value, values[key] as Json, `${path}${key}.`);
    } else out[key] = values[key];
  }
  return out;
}

/** A Twilio → app message as compact JSON text (as Twilio writes it on the socket). */
export function twilioFrame(example: Json, values: Json): string {
  return JSON.stringify(fillExample(example, values));
}

/**
 * Builders of the two frames Twilio sends many times a second, in the docs' field order, that
 * cost one string concatenation per frame (the benchmark sends 10,000 a second): the example is
 * filled with markers once, then split around them.
 */
export function hotFrameBuilders(streamSid: string): {
  media(sequenceNumber: number, chunk: number, timestamp: number, payload: string): string;
  mark(sequenceNumber: number, name: string): string;
} {
  const marker = (n: number) => `⟦${n}⟧`;
  const parts = (example: Json, values: Json, count: number) => {
    const pieces = twilioFrame(example, values).split(/⟦\d⟧/);
    if (pieces.length !== count + 1) throw new Error("an example lost a field");
    return pieces;
  };
  const [a, b, c, d, e] = parts(MEDIA_STREAMS.fromTwilio.media, {
    sequenceNumber: marker(0),
    media: { chunk: marker(1), timestamp: marker(2), payload: marker(3) },
    streamSid,
  }, 4);
  // The name goes in as a JSON string (quotes included), so the marker replaces the quotes too.
  const mark = twilioFrame(MEDIA_STREAMS.fromTwilio.mark, {
    sequenceNumber: marker(0),
    streamSid,
    mark: { name: marker(1) },
  }).replace(`"${marker(1)}"`, marker(1));
  const [m0, m1, m2] = mark.split(/⟦\d⟧/);
  return {
    media: (sequenceNumber, chunk, timestamp, payload) =>
      a + sequenceNumber + b + chunk + c + timestamp + d + payload + e,
    mark: (sequenceNumber, name) => m0 + sequenceNumber + m1 + JSON.stringify(name) + m2,
  };
}
