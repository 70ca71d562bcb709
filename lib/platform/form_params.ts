/**
 * Twilio webhooks post forms: their string fields, read once (Hono caches the parsed body).
 * A body that cannot be parsed is the client's error (400), never a server error: it is read
 * before the signature check, so anyone can send one.
 *
 * @module
 */

import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";

/** The string fields of a form body (none for other content types); 400 if it is malformed. */
export async function formParams(c: Context): Promise<Record<string, string>> {
  const type = c.req.header("content-type") ?? "";
  if (
    !type.includes("application/x-www-form-urlencoded") && !type.includes("multipart/form-data")
  ) {
    return {};
  }
  let body: Record<string, unknown>;
  try {
    body = await c.req.parseBody();
  } catch {
    throw new HTTPException(400, { message: "Malformed form body" });
  }
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === "string") params[key] = value;
  }
  return params;
}
