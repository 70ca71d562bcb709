/**
 * Twilio Media Streams wire protocol (bidirectional `<Connect><Stream>`): the messages Twilio
 * sends (parsed and validated here, once) and builders for the messages the service sends back.
 *
 * Audio stays base64 µ-law end to end: payloads are checked to be plain base64 (so they can be
 * spliced into JSON text without escaping) but never decoded.
 *
 * @module
 */

import { CALL_SID, callParameters, jsonObject, parseJsonFrame } from "./json_fields.ts";
import type { ParseResult } from "./parse_result.ts";

/** `connected`: the first message of a stream. */
export interface ConnectedMessage {
  event: "connected";
}

/** `start`: the stream's metadata, with the TwiML `<Parameter>`s in `customParameters`. */
export interface StartMessage {
  event: "start";
  streamSid: string;
  callSid: string;
  accountSid: string;
  tracks: string[];
  customParameters: Record<string, string>;
  encoding: string;
  sampleRate: number;
}

/** `media`: one chunk of caller audio (base64 µ-law, 8 kHz mono). */
export interface MediaMessage {
  event: "media";
  /** Base64, validated. */
  payload: string;
  /** ms since the stream started. */
  timestamp: number;
}

/** `dtmf`: one key press. */
export interface DtmfMessage {
  event: "dtmf";
  digit: string;
}

/** `mark`: Twilio echoes a mark once the audio queued before it has played (or was cleared). */
export interface MarkMessage {
  event: "mark";
  name: string;
}

/** `stop`: the stream ended (hang-up or TwiML replaced). */
export interface StopMessage {
  event: "stop";
}

/** Every message Twilio sends over a Media Streams socket. */
export type MediaStreamInbound =
  | ConnectedMessage
  | StartMessage
  | MediaMessage
  | DtmfMessage
  | MarkMessage
  | StopMessage;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** True if `value` is plain base64 text (safe to splice into a JSON string as is). */
export function isBase64(value: string): boolean {
  return value.length % 4 === 0 && BASE64.test(value);
}

/**
 * True if `value` is one DTMF key: 0-9, `*`, `#` or A-D (either case). Twilio's `dtmf` message
 * and both of OpenAI's SIP sidebands (`transport.dtmf.received`,
 * `input_audio_buffer.dtmf_event_received`) name the key this way.
 */
export function isDtmfDigit(value: unknown): value is string {
  return typeof value === "string" && /^[0-9*#A-Da-d]$/.test(value);
}

/** Decoded byte length of a valid base64 string, computed from its length and padding. */
export function base64ByteLength(b64: string): number {
  const n = b64.length;
  if (n === 0) return 0;
  const pad = b64.charCodeAt(n - 1) === 61 ? (b64.charCodeAt(n - 2) === 61 ? 2 : 1) : 0;
  return (n / 4) * 3 - pad;
}

/** µ-law at 8 kHz mono: 8 bytes per millisecond. */
export const MULAW_BYTES_PER_MS = 8;

/**
 * `media` exactly as Twilio writes it (fields in this order — `media` before `streamSid`, as in
 * Twilio's Media Streams message reference and captured calls — no whitespace, no escapes): the
 * timestamp and the payload are read without building the JSON object. A frame that differs in
 * any way goes through the full parser, so the result is always the same.
 */
const MEDIA_FRAME =
  /^\{"event":"media","sequenceNumber":"\d+","media":\{"track":"inbound","chunk":"\d+","timestamp":"(\d+)","payload":"([A-Za-z0-9+/]*={0,2})"\},"streamSid":"[A-Za-z0-9]+"\}$/;
/**
 * `mark` as Twilio writes it; the name is text JSON needs no escape for (no quote, backslash or
 * control character).
 */
const MARK_FRAME =
  /^\{"event":"mark","sequenceNumber":"\d+","streamSid":"[A-Za-z0-9]+","mark":\{"name":"([ !#-\[\]-\uffff]+)"\}\}$/;

/** Parses and validates one frame from Twilio. Never throws. */
export function parseMediaStreamMessage(data: unknown): ParseResult<MediaStreamInbound> {
  // Fast paths for the two frames that arrive 50 times a second; see MEDIA_FRAME.
  if (typeof data === "string" && data.charCodeAt(10) === 109) { // {"event":"m…
    const media = MEDIA_FRAME.exec(data);
    if (media && media[2].length % 4 === 0) {
      const timestamp = +media[1];
      return {
        ok: true,
        message: {
          event: "media",
          payload: media[2],
          timestamp: Number.isFinite(timestamp) ? timestamp : 0,
        },
      };
    }
    const mark = MARK_FRAME.exec(data);
    if (mark) return { ok: true, message: { event: "mark", name: mark[1] } };
  }
  const frame = parseJsonFrame(data);
  if (!frame.ok) return frame;
  const m = frame.value;
  switch (m.event) {
    case "media": {
      const media = jsonObject(m.media);
      const payload = media?.payload;
      if (typeof payload !== "string" || !isBase64(payload)) {
        return { ok: false, error: "media without a base64 payload" };
      }
      if (media?.track !== undefined && media.track !== "inbound") {
        return { ok: false, error: "media on a track other than inbound" };
      }
      const timestamp = Number(media?.timestamp ?? 0);
      return {
        ok: true,
        message: {
          event: "media",
          payload,
          timestamp: Number.isFinite(timestamp) ? timestamp : 0,
        },
      };
    }
    case "mark": {
      const name = jsonObject(m.mark)?.name;
      if (typeof name !== "string" || !name) return { ok: false, error: "mark without a name" };
      return { ok: true, message: { event: "mark", name } };
    }
    case "dtmf": {
      const digit = jsonObject(m.dtmf)?.digit;
      if (!isDtmfDigit(digit)) {
        return { ok: false, error: "dtmf without a valid digit" };
      }
      return { ok: true, message: { event: "dtmf", digit } };
    }
    case "start": {
      const start = jsonObject(m.start);
      const streamSid = start?.streamSid ?? m.streamSid;
      const callSid = start?.callSid;
      if (!start || typeof streamSid !== "string" || !streamSid || typeof callSid !== "string") {
        return { ok: false, error: "start without streamSid or callSid" };
      }
      if (!CALL_SID.test(callSid) || !/^MZ[0-9a-fA-F]{32}$/.test(streamSid)) {
        return { ok: false, error: "start with a malformed callSid or streamSid" };
      }
      const parameters = callParameters(start.customParameters);
      if (!parameters.ok) return { ok: false, error: `start with ${parameters.error}` };
      const format = jsonObject(start.mediaFormat);
      const tracks = Array.isArray(start.tracks)
        ? start.tracks.filter((t): t is string => typeof t === "string")
        : [];
      return {
        ok: true,
        message: {
          event: "start",
          streamSid,
          callSid,
          accountSid: typeof start.accountSid === "string" ? start.accountSid : "",
          tracks,
          customParameters: parameters.value,
          encoding: typeof format?.encoding === "string" ? format.encoding : "audio/x-mulaw",
          sampleRate: typeof format?.sampleRate === "number" ? format.sampleRate : 8000,
        },
      };
    }
    case "connected":
      return { ok: true, message: { event: "connected" } };
    case "stop":
      return { ok: true, message: { event: "stop" } };
    default:
      return {
        ok: false,
        error: typeof m.event === "string" ? `unknown event "${m.event.slice(0, 40)}"` : "no event",
      };
  }
}

/**
 * Builds the messages the service sends on one stream. The stream SID is JSON-encoded once; a
 * media message is then plain string concatenation around the (already base64) payload.
 */
export class MediaStreamWriter {
  readonly #mediaHead: string;
  readonly #markHead: string;
  readonly #clear: string;

  constructor(streamSid: string) {
    const sid = JSON.stringify(streamSid);
    this.#mediaHead = `{"event":"media","streamSid":${sid},"media":{"payload":"`;
    this.#markHead = `{"event":"mark","streamSid":${sid},"mark":{"name":`;
    this.#clear = `{"event":"clear","streamSid":${sid}}`;
  }

  /** `media` with `payload`, which must be valid base64 (see {@link isBase64}). */
  media(payload: string): string {
    return this.#mediaHead + payload + '"}}';
  }

  /** `mark` named `name` (non-empty). */
  mark(name: string): string {
    return this.#markHead + JSON.stringify(name) + "}}";
  }

  /** `clear`: drops the audio Twilio has queued. */
  clear(): string {
    return this.#clear;
  }
}
