/**
 * `POST /calls/:sid/webhook`: sends a call's end-of-call webhook again after it ran out of
 * retries (the call page's "send again"; the admin guard checks the form's origin).
 *
 * @module
 */

import type { Handler } from "hono";
import type { Services } from "../../../lib/services.ts";

/** Queues the delivery again and goes back to the call page; 404 if nothing is undelivered. */
export function webhookResendHandler(services: Services): Handler {
  return async (c) => {
    const id = (c.req.param("sid") ?? "").slice(0, 64);
    if (!(await services.afterCall.resend(id))) {
      return c.text("No undelivered webhook for this call.", 404);
    }
    return c.redirect(`/calls/${encodeURIComponent(id)}`, 303);
  };
}
