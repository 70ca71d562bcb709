/**
 * Reading untrusted JSON at protocol boundaries: a frame is parsed once into a plain object whose
 * fields are then checked one by one, never cast wholesale.
 */

/** A parsed JSON object whose fields are still unchecked. */
export type JsonObject = Record<string, unknown>;

/** Result of reading a WebSocket frame as a JSON object. */
export type JsonFrame = { ok: true; value: JsonObject } | { ok: false; error: string };

/** `value` if it is a JSON object (not null, not an array), else null. */
export function jsonObject(value: unknown): JsonObject | null {
  return value && typeof value === "object" && !Array.isArray(value) ? value as JsonObject : null;
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
