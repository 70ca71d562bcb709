/**
 * Reading untrusted JSON at protocol boundaries: a frame is parsed once into a plain object whose
 * fields are then checked one by one, never cast wholesale.
 *
 * @module
 */

/** A parsed JSON object whose fields are still unchecked. */
export type JsonObject = Record<string, unknown>;

/** Result of reading a WebSocket frame as a JSON object. */
export type JsonFrame = { ok: true; value: JsonObject } | { ok: false; error: string };

/** `value` if it is a JSON object (not null, not an array), else null. */
export function jsonObject(value: unknown): JsonObject | null {
  return value && typeof value === "object" && !Array.isArray(value) ? value as JsonObject : null;
}

/** `obj[key]` if it is a string, else "". */
export function textField(obj: JsonObject | null, key: string): string {
  const v = obj?.[key];
  return typeof v === "string" ? v : "";
}

/** `obj[key]` if it is a finite number, else 0. */
export function numberField(obj: JsonObject | null, key: string): number {
  const v = obj?.[key];
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/** Parses a text frame that must hold a JSON object. Never throws. */
export function parseJsonFrame(data: unknown): JsonFrame {
  if (typeof data !== "string") return { ok: false, error: "binary frame" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return { ok: false, error: "invalid JSON" };
  }
  const value = jsonObject(parsed);
  return value ? { ok: true, value } : { ok: false, error: "not a JSON object" };
}

/**
 * The string, number and boolean fields of `value` as strings (e.g. the TwiML `<Parameter>`s of
 * a stream or a relay session); other fields are left out.
 */
export function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const obj = jsonObject(value);
  if (obj) {
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === "string") out[k] = v;
      else if (typeof v === "number" || typeof v === "boolean") out[k] = String(v);
    }
  }
  return out;
}

/** A Twilio call SID: `CA` and 32 hex digits. */
export const CALL_SID = /^CA[0-9a-fA-F]{32}$/;

/** Caps on the `<Parameter>`s a call's first message may carry (they end up in KV records). */
export const PARAMETER_LIMITS = { entries: 32, keyChars: 64, valueChars: 1024 } as const;

/**
 * {@link stringRecord} of a call's `<Parameter>`s, or why they are refused: too many, or a name
 * or value too long.
 */
export function callParameters(
  value: unknown,
): { ok: true; value: Record<string, string> } | { ok: false; error: string } {
  const record = stringRecord(value);
  const entries = Object.entries(record);
  if (entries.length > PARAMETER_LIMITS.entries) {
    return { ok: false, error: `more than ${PARAMETER_LIMITS.entries} custom parameters` };
  }
  for (const [key, text] of entries) {
    if (key.length > PARAMETER_LIMITS.keyChars || text.length > PARAMETER_LIMITS.valueChars) {
      return { ok: false, error: "a custom parameter is too long" };
    }
  }
  return { ok: true, value: record };
}
