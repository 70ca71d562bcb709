/**
 * Checks for a parser's fast path: a frame in the shape the fast path reads must parse exactly as
 * the same message with its keys in another order (which only the full parser reads).
 */

import assert from "node:assert/strict";
/** The same message with its keys in another order: only the full parser reads it. */
export function reordered(json: string): string {
  const reverse = (value: unknown): unknown =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverse(v)]))
      : value;
  return JSON.stringify(reverse(JSON.parse(json)));
}

/** Each frame (in the fast-path shape) parses, and exactly as its reordered copy does. */
export function assertFastPathAgrees(parse: (data: unknown) => { ok: boolean }, frames: string[]) {
  for (const frame of frames) {
    const fast = parse(frame);
    assert.ok(fast.ok, frame);
    assert.deepEqual(fast, parse(reordered(frame)), frame);
  }
}
