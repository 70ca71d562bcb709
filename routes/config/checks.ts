/**
 * `POST /config/checks`: the "check again" button of `/config` — runs the checks now, replaces
 * the cached ones (for every instance with this configuration) and goes back to the page.
 *
 * @module
 */

import type { Handler } from "hono";
import type { Services } from "../../lib/services.ts";
import { configChecks } from "../config.tsx";

/** Runs the checks afresh, then redirects to `/config`. */
export function configChecksHandler(services: Services): Handler {
  return async (c) => {
    await configChecks(services, { fresh: true });
    return c.redirect("/config#checks", 303);
  };
}
