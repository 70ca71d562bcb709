/**
 * Audio messages built by splicing: on the per-frame path a message around an already-base64
 * payload is plain string concatenation, not `JSON.stringify`. The text around the payload is
 * derived from the message's typed shape (checked against the SDK's type by the caller with
 * `satisfies`), so the two cannot drift apart.
 *
 * @module
 */

/**
 * A builder of `shape` with its `audio` field set to a payload; `shape.audio` must be "" and its
 * last field, and the payload valid base64 (it is inserted as is, needing no escaping).
 */
export function audioSplicer<T extends { audio: string }>(shape: T): (payload: string) => string {
  const text = JSON.stringify(shape);
  const field = '"audio":""}';
  if (!text.endsWith(field)) throw new Error(`audio must be the last field of ${text}`);
  const head = text.slice(0, -2);
  return (payload) => head + payload + '"}';
}
