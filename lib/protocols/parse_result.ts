/**
 * The result of parsing one frame of any wire protocol: the typed message, or why it was rejected.
 * Parsers return it instead of throwing, so a malformed frame is logged and dropped, never fatal.
 *
 * @module
 */

/** The parsed message, or why the frame was rejected. */
export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: string };
