/**
 * `GET /metrics`: Prometheus text format (admin only).
 *
 * @module
 */

import type { Handler } from "hono";
import type { Services } from "../lib/services.ts";

/** The service's metrics, live-call gauges, limit hits and drain state, from its own registry. */
export function metricsHandler(services: Services): Handler {
  const registry = services.metrics.registry;
  return async (c) =>
    c.body(await registry.metrics(), 200, {
      "content-type": registry.contentType,
      "cache-control": "no-store",
    });
}
