/**
 * `/api/calls`: `POST` places an outbound call with an agent; `GET` lists calls, a page at a
 * time.
 *
 * @module
 */

import type { Context, Handler } from "hono";
import { claimIdempotencyKey, validIdempotencyKey } from "../../lib/outbound/idempotency.ts";
import {
  OutboundError,
  parseOutboundRequest,
  placeOutboundCall,
} from "../../lib/outbound/outbound_calls.ts";
import { limitHit } from "../../lib/calls/admission.ts";
import { RateLimiter } from "../../lib/platform/rate_limit.ts";
import type { Services } from "../../lib/services.ts";
import { parseCallFilter } from "../../lib/admin/call_filter_query.ts";
import { CursorError } from "../../lib/records/call_store.ts";

/**
 * Answers `201 { callSid, reference }`, or `{ error }` with the matching status; more than
 * `API_CALLS_PER_MINUTE` calls a minute get 429 with `Retry-After`. With an `Idempotency-Key`,
 * a retry within 24 h (on any instance) gets the first answer again (`Idempotent-Replayed: true`)
 * and places no second call.
 */
export function createCallHandler(services: Services): Handler {
  const place = placeCall(services);
  return async (c) => {
    const key = c.req.header("idempotency-key");
    if (key === undefined) return await place(c);
    if (!validIdempotencyKey(key)) {
      return c.json({ error: "Idempotency-Key must be 1 to 255 visible ASCII characters." }, 400);
    }
    const text = await c.req.text();
    const claim = await claimIdempotencyKey(services.kv, key, text);
    if (claim.kind === "replay") {
      c.header("Idempotent-Replayed", "true");
      return c.json(claim.body, claim.status as 201);
    }
    if (claim.kind === "mismatch") {
      return c.json({ error: "This Idempotency-Key was used with another request body." }, 422);
    }
    if (claim.kind === "busy") {
      c.header("Retry-After", "1");
      return c.json({ error: "A request with this Idempotency-Key is still in progress." }, 409);
    }
    let res: Response | undefined;
    try {
      res = await place(c);
    } finally {
      // Only a placed call is kept; after a failure the key may be tried again.
      if (res?.status === 201) {
        if (!await claim.slot.complete(201, await res.clone().json())) {
          services.log.warn("idempotency.taken_over", { status: 201 });
        }
      } else await claim.slot.release();
    }
    return res;
  };
}

/** The placing itself: rate limit, validation, the call. */
function placeCall(services: Services): (c: Context) => Promise<Response> {
  const { outbound } = services.config;
  const placed = new RateLimiter({ limit: outbound.callsPerMinute, windowMs: 60_000 });
  return async (c) => {
    const wait = placed.retryAfterMs("api");
    if (wait > 0) {
      limitHit(services, "api_calls_per_minute");
      c.header("Retry-After", String(Math.ceil(wait / 1000)));
      return c.json(
        { error: `At most ${outbound.callsPerMinute} calls a minute; retry later.` },
        429,
      );
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: "The body must be JSON." }, 400);
    }
    try {
      // An agent created on another instance is looked up in KV before the (sync) check.
      const named = (body as { agent?: unknown } | null)?.agent;
      if (typeof named === "string") await services.profiles.knows(named);
      const request = parseOutboundRequest(body, services.profiles, {
        allowed: outbound.allowedPrefixes,
        denied: outbound.deniedPrefixes,
      });
      placed.hit("api");
      return c.json(await placeOutboundCall(services, request), 201);
    } catch (err) {
      if (err instanceof OutboundError) return c.json({ error: err.message }, err.status);
      throw err;
    }
  };
}

/** Most calls one `GET /api/calls` page holds. */
const MAX_PAGE = 200;

/**
 * `GET /api/calls`: calls newest first with the dashboard's filters (`agent`, `mode`, `outcome`,
 * `result`, `from`, `to`, `q`), `limit` (≤ 200, default 50) and `cursor` (the previous page's
 * `nextCursor`); answers `{ calls, nextCursor }`.
 */
export function listCallsHandler(services: Services): Handler {
  return async (c) => {
    const query = c.req.query();
    const limit = Number(query.limit ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      return c.json({ error: `limit must be a whole number from 1 to ${MAX_PAGE}.` }, 400);
    }
    const { filter } = parseCallFilter(query, { limit });
    try {
      const page = await services.records.store.page(filter);
      return c.json({ calls: page.calls, nextCursor: page.cursor });
    } catch (err) {
      if (err instanceof CursorError) return c.json({ error: err.message }, 400);
      throw err;
    }
  };
}
