/**
 * Twilio webhooks post forms: their string fields, read once (Hono caches the parsed body).
 */

import type { Context } from "hono";

/** The string fields of a form body (none for other content types). */
export async function formParams(c: Context): Promise<Record<string, string>> {
  const type = c.req.header("content-type") ?? "";
  if (
    !type.includes("application/x-www-form-urlencoded") && !type.includes("multipart/form-data")
  ) {
    return {};
  }
  const body = await c.req.parseBody();
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === "string") params[key] = value;
  }
  return params;
}
