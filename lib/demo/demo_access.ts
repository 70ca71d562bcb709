/**
 * Who may use the demo booking service: the agent's own HTTP tools, by the signature they send
 * when `TOOLS_SIGNING_SECRET` is set (`X-Callbridge-Signature`, see `agents/http_tool.ts`), or
 * else whoever passes the admin guard (in `deno task dev`, a client on this machine, which the
 * tools calling the service on loopback are).
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";

/** How far a signed request's timestamp may be from now, either way. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

const MAX_SIGNED_BODY = 16 * 1024;

/** Where the demo booking service's URLs start. */
export const DEMO_BOOKING_PREFIX = "/demo/booking/";

/**
 * Whether a request carries a valid `X-Callbridge-Signature` for `signed` (the body; the query
 * string, `?…`, for GET and DELETE) made with `secret`, with a timestamp within
 * {@link SIGNATURE_TOLERANCE_SECONDS} of `nowMs`. Compared in constant time; never throws.
 */
export async function verifyToolSignature(
  secret: string,
  request: { signature: string | null; timestamp: string | null; signed: string },
  nowMs: number = Date.now(),
): Promise<boolean> {
  const { signature, timestamp, signed } = request;
  if (!signature?.startsWith("sha256=") || !timestamp || !/^\d{1,12}$/.test(timestamp)) {
    return false;
  }
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_TOLERANCE_SECONDS) return false;
  const hex = signature.slice("sha256=".length);
  if (!/^[0-9a-f]{64}$/.test(hex)) return false;
  const mac = new Uint8Array(hex.match(/../g)!.map((b) => parseInt(b, 16)));
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  return await crypto.subtle.verify(
    "HMAC",
    key,
    mac,
    new TextEncoder().encode(`${timestamp}.${signed}`),
  );
}

/**
 * Middleware factory: a request to the demo booking service with a valid tool signature (made
 * with `secret`) passes; every other request goes through `admin`, the admin guard.
 */
export function demoOrAdmin(secret: string | null, admin: MiddlewareHandler): MiddlewareHandler {
  return async (c, next) => {
    // Only small bodies of a stated length are read ahead of the admin guard's body limit.
    const size = Number(c.req.header("content-length") ?? NaN);
    if (secret && c.req.path.startsWith(DEMO_BOOKING_PREFIX) && size <= MAX_SIGNED_BODY) {
      const query = new URL(c.req.url).search;
      const inQuery = c.req.method === "GET" || c.req.method === "DELETE";
      // Hono keeps the body it read, so the route can still parse it.
      const signed = inQuery ? query : await c.req.text();
      const ok = await verifyToolSignature(secret, {
        signature: c.req.header("x-callbridge-signature") ?? null,
        timestamp: c.req.header("x-callbridge-timestamp") ?? null,
        signed,
      });
      if (ok) return await next();
    }
    return await admin(c, next);
  };
}
