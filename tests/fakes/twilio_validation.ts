/**
 * What Twilio accepts from the app, written from Twilio's docs (the rules are quoted, with their
 * sources, in `tests/fixtures/`) and not from the service's code: the fake Twilio clients check
 * every message the service sends them with these, and drop, record and answer an invalid one
 * the way Twilio does.
 *
 * - ConversationRelay (`text`, `play`, `sendDigits`, `language`, `end`): "If validation fails then
 *   Twilio returns error 64107 with details about the validation failure. A failed validation
 *   check does not end the session but the message will not be processed." Twilio answers with an
 *   `error` message, and ten malformed messages in a row close the socket with 1007.
 * - Media Streams (`media`, `mark`, `clear`): a message that is not JSON, of an unknown type, with
 *   a missing or extra field or another stream's SID is not acted upon (warning 31951, 31950 for a
 *   binary frame); the stream goes on.
 *
 * Each check returns null for a valid message, else what is wrong with it.
 *
 * @module
 */

type Json = Record<string, unknown>;

/** A field's check: null when `value` is fine, else the problem. */
type Check = (value: unknown) => string | null;

/** The fields of one message type: those it must have and those it may have. */
interface Shape {
  required: Record<string, Check>;
  optional: Record<string, Check>;
  /** A rule across fields (e.g. `language` needs one of its two). */
  whole?: (message: Json) => string | null;
}

/** A BCP 47 tag as Twilio's language codes are written (`en-US`, `sv-SE`, `cmn-Hans-CN`). */
const LANGUAGE_TAG = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

const isString: Check = (v) => typeof v === "string" ? null : "must be a string";
const isBoolean: Check = (v) => typeof v === "boolean" ? null : "must be true or false";
const isLanguage: Check = (v) =>
  typeof v === "string" && LANGUAGE_TAG.test(v) ? null : "must be a supported language code";
const isUrl: Check = (v) => {
  if (typeof v !== "string") return "must contain a valid URL";
  try {
    const { protocol } = new URL(v);
    return protocol === "https:" || protocol === "http:" ? null : "must contain a valid URL";
  } catch {
    return "must contain a valid URL";
  }
};
const isLoop: Check = (v) =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 1000
    ? null
    : "must be an integer from 0 to 1000";
const isDigits: Check = (v) =>
  typeof v === "string" && /^[0-9w#*]+$/.test(v)
    ? null
    : "cannot be null or empty and must only contain 0-9, w, # and *";

/** The messages an app may send over ConversationRelay, with the validation rules of the docs. */
const RELAY_SHAPES: Record<string, Shape> = {
  text: {
    // "token: Required. Cannot be null."
    required: { token: isString },
    optional: {
      last: isBoolean,
      lang: isLanguage,
      interruptible: isBoolean,
      preemptible: isBoolean,
    },
  },
  play: {
    required: { source: isUrl },
    optional: { loop: isLoop, preemptible: isBoolean, interruptible: isBoolean },
  },
  sendDigits: { required: { digits: isDigits }, optional: {} },
  language: {
    required: {},
    optional: { ttsLanguage: isLanguage, transcriptionLanguage: isLanguage },
    whole: (m) =>
      m.ttsLanguage === undefined && m.transcriptionLanguage === undefined
        ? "either ttsLanguage or transcriptionLanguage must be present"
        : null,
  },
  // "handoffData: A string containing data to pass back in the action callback. Optional."
  end: { required: {}, optional: { handoffData: isString } },
};

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `message` against `shape`; `prefix` names the message in the problem. */
function shapeProblem(message: Json, shape: Shape, prefix: string, skip: string[]): string | null {
  for (const [field, check] of Object.entries(shape.required)) {
    if (!(field in message)) return `${prefix}: missing required field "${field}"`;
    const problem = check(message[field]);
    if (problem) return `${prefix}: "${field}" ${problem}`;
  }
  for (const [field, value] of Object.entries(message)) {
    if (skip.includes(field) || field in shape.required) continue;
    const check = shape.optional[field];
    if (!check) return `${prefix}: unexpected field "${field}"`;
    const problem = check(value);
    if (problem) return `${prefix}: "${field}" ${problem}`;
  }
  return shape.whole?.(message) ?? null;
}

/** Parses a text frame as a JSON object, or says why it is not one. */
function jsonObject(data: unknown): { message: Json } | { problem: string } {
  if (typeof data !== "string") return { problem: "a binary frame (only text frames are read)" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return { problem: "not valid JSON" };
  }
  if (!isObject(parsed)) return { problem: "not a JSON object" };
  return { message: parsed };
}

/** A ConversationRelay message from the app: the parsed message, or what is wrong with it. */
export function checkRelayMessage(data: unknown): { message: Json } | { problem: string } {
  const frame = jsonObject(data);
  if ("problem" in frame) return frame;
  const { message } = frame;
  const type = message.type;
  if (typeof type !== "string") return { problem: 'missing required field "type"' };
  const shape = RELAY_SHAPES[type];
  if (!shape) return { problem: `unknown message type "${type.slice(0, 40)}"` };
  const problem = shapeProblem(message, shape, type, ["type"]);
  return problem ? { problem } : { message };
}

/** The messages an app may send back on a bidirectional Media Stream. */
const STREAM_SHAPES: Record<string, (message: Json) => string | null> = {
  media: (m) => {
    const media = m.media;
    if (!isObject(media)) return 'media: "media" must be an object';
    const keys = Object.keys(media);
    if (keys.length !== 1 || keys[0] !== "payload") {
      return 'media: "media" must hold exactly one field, "payload"';
    }
    const payload = media.payload;
    // "The payload must be encoded audio/x-mulaw with a sample rate of 8000 and must be base64
    // encoded." Base64 comes in groups of four characters.
    if (
      typeof payload !== "string" || payload.length === 0 || payload.length % 4 !== 0 ||
      !/^[A-Za-z0-9+/]+={0,2}$/.test(payload)
    ) {
      return 'media: "media.payload" must be non-empty base64';
    }
    return null;
  },
  mark: (m) => {
    const mark = m.mark;
    if (!isObject(mark)) return 'mark: "mark" must be an object';
    const keys = Object.keys(mark);
    if (keys.length !== 1 || keys[0] !== "name") {
      return 'mark: "mark" must hold exactly one field, "name"';
    }
    if (typeof mark.name !== "string" || mark.name === "") {
      return 'mark: "mark.name" must be a non-empty string';
    }
    return null;
  },
  clear: () => null,
};

/** The fields each Media Streams message from the app has, besides `event` and `streamSid`. */
const STREAM_BODY: Record<string, string | null> = { media: "media", mark: "mark", clear: null };

/**
 * A Media Streams message from the app on stream `streamSid`: the parsed message, or what is
 * wrong with it (Twilio would not act on it).
 */
export function checkStreamMessage(
  data: unknown,
  streamSid: string,
): { message: Json } | { problem: string } {
  const frame = jsonObject(data);
  if ("problem" in frame) return frame;
  const { message } = frame;
  const event = message.event;
  if (typeof event !== "string") return { problem: 'missing required field "event"' };
  const check = STREAM_SHAPES[event];
  if (!check) return { problem: `unknown event "${event.slice(0, 40)}"` };
  if (!("streamSid" in message)) return { problem: `${event}: missing required field "streamSid"` };
  if (message.streamSid !== streamSid) {
    return { problem: `${event}: "streamSid" is not this stream's (${streamSid})` };
  }
  const body = STREAM_BODY[event];
  for (const key of Object.keys(message)) {
    if (key !== "event" && key !== "streamSid" && key !== body) {
      return { problem: `${event}: unexpected field "${key}"` };
    }
  }
  if (body && !(body in message)) return { problem: `${event}: missing required field "${body}"` };
  const problem = check(message);
  return problem ? { problem } : { message };
}
