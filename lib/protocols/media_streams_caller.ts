/**
 * Twilio's side of a bidirectional Media Stream, for the voice simulator (which plays it in the
 * browser over the real `/twilio/stream` socket): the messages Twilio sends, built with Twilio's
 * field order and numbering (`tests/fixtures/twilio_media_streams.json` has the verbatim
 * examples; the unit test holds each built message to its example), and a parser of what the
 * service sends back (`media`, `mark`, `clear`). Pure: the island bundle and lib/ share it.
 *
 * @module
 */

import { jsonObject, parseJsonFrame } from "./json_fields.ts";
import type { ParseResult } from "./parse_result.ts";

/** Who the stream is: Twilio's SIDs for it. */
export interface StreamIds {
  accountSid: string;
  callSid: string;
  /** `MZ` and 32 hex digits. */
  streamSid: string;
}

/** What the service sends on a bidirectional stream. */
export type StreamOutbound =
  | { event: "media"; payload: string }
  | { event: "mark"; name: string }
  | { event: "clear" };

/**
 * The messages of one stream, numbered as Twilio numbers them: `sequenceNumber` counts every
 * message after `connected` from 1 (`start` is 1), `chunk` counts `media` messages from 1.
 */
export class CallerStream {
  #sequence = 0;
  #chunk = 0;

  constructor(readonly ids: StreamIds) {}

  /** `connected`, the first message (no sequence number). */
  connected(): string {
    return JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" });
  }

  /** `start`, with the TwiML's `<Parameter>`s as `customParameters`. */
  start(customParameters: Record<string, string>): string {
    const { accountSid, streamSid, callSid } = this.ids;
    return JSON.stringify({
      event: "start",
      sequenceNumber: this.#next(),
      start: {
        accountSid,
        streamSid,
        callSid,
        tracks: ["inbound"],
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
        customParameters,
      },
      streamSid,
    });
  }

  /** `media`: one chunk of the caller's audio (base64 µ-law), `timestamp` ms into the stream. */
  media(payload: string, timestamp: number): string {
    const sequenceNumber = this.#next();
    const chunk = String(++this.#chunk);
    return JSON.stringify({
      event: "media",
      sequenceNumber,
      media: { track: "inbound", chunk, timestamp: String(Math.round(timestamp)), payload },
      streamSid: this.ids.streamSid,
    });
  }

  /** `dtmf`: a key the caller pressed. */
  dtmf(digit: string): string {
    return JSON.stringify({
      event: "dtmf",
      streamSid: this.ids.streamSid,
      sequenceNumber: this.#next(),
      dtmf: { track: "inbound_track", digit },
    });
  }

  /** `mark`: the echo of the service's mark `name`, once the audio before it played. */
  mark(name: string): string {
    return JSON.stringify({
      event: "mark",
      sequenceNumber: this.#next(),
      streamSid: this.ids.streamSid,
      mark: { name },
    });
  }

  /** `stop`: the caller hung up. */
  stop(): string {
    const { accountSid, callSid, streamSid } = this.ids;
    return JSON.stringify({
      event: "stop",
      sequenceNumber: this.#next(),
      stop: { accountSid, callSid },
      streamSid,
    });
  }

  #next(): string {
    return String(++this.#sequence);
  }
}

/** Parses one message the service sent on the stream. Never throws. */
export function parseStreamOutbound(data: unknown): ParseResult<StreamOutbound> {
  const frame = parseJsonFrame(data);
  if (!frame.ok) return frame;
  const m = frame.value;
  switch (m.event) {
    case "media": {
      const payload = jsonObject(m.media)?.payload;
      if (typeof payload !== "string") return { ok: false, error: "media without a payload" };
      return { ok: true, message: { event: "media", payload } };
    }
    case "mark": {
      const name = jsonObject(m.mark)?.name;
      if (typeof name !== "string" || !name) return { ok: false, error: "mark without a name" };
      return { ok: true, message: { event: "mark", name } };
    }
    case "clear":
      return { ok: true, message: { event: "clear" } };
    default:
      return { ok: false, error: `unknown event "${String(m.event).slice(0, 40)}"` };
  }
}

/** New SIDs for a simulated stream of call `callSid`. */
export function simulatedStreamIds(callSid: string): StreamIds {
  const hex = () => crypto.randomUUID().replaceAll("-", "");
  return { accountSid: `AC${"0".repeat(32)}`, callSid, streamSid: `MZ${hex()}` };
}

/** Base64 of `bytes` (the payload of a `media`). */
export function bytesToBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
  return btoa(text);
}

/** The bytes of base64 `b64` (an empty array if it is not base64). */
export function base64ToBytes(b64: string): Uint8Array {
  let text: string;
  try {
    text = atob(b64);
  } catch {
    return new Uint8Array(0);
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
