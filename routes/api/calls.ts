/** `POST /api/calls`: places an outbound call with an agent. */

import type { Handler } from "hono";
import {
  OutboundError,
  parseOutboundRequest,
  placeOutboundCall,
} from "../../lib/outbound_calls.ts";
import type { Services } from "../../lib/services.ts";

/** Answers `201 { callSid, reference }`, or `{ error }` with the matching status. */
export function createCallHandler(services: Services): Handler {
  return async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: "The body must be JSON." }, 400);
    }
    try {
      const request = parseOutboundRequest(body, services.profiles);
      return c.json(await placeOutboundCall(services, request), 201);
    } catch (err) {
      if (err instanceof OutboundError) return c.json({ error: err.message }, err.status);
      throw err;
    }
  };
}
