/**
 * `GET /metrics`: Prometheus text format (admin only).
 *
 * @module
 */

import type { Handler } from "hono";
import type { Services } from "../lib/services.ts";

/** The service's metrics, live-call gauges, limit hits and drain state. */
export function metricsHandler(services: Services): Handler {
  return (c) => {
    const lines = [services.metrics.render(services.registry.countByMode()).trimEnd()];
    lines.push(
      "# HELP callbridge_limit_hits_total Calls, messages or requests refused by a limit.",
      "# TYPE callbridge_limit_hits_total counter",
      ...[...services.limitHits].map(([limit, n]) =>
        `callbridge_limit_hits_total{limit="${limit.replace(/[^a-z0-9_]/g, "_")}"} ${n}`
      ),
      "# HELP callbridge_draining 1 while this instance drains (takes no new calls).",
      "# TYPE callbridge_draining gauge",
      `callbridge_draining ${services.lifecycle.draining ? 1 : 0}`,
    );
    return c.body(`${lines.join("\n")}\n`, 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
      "cache-control": "no-store",
    });
  };
}
