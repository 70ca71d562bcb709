/**
 * Accepting a Twilio call socket: it must be a WebSocket upgrade, and the process must be taking
 * calls (not draining, under `MAX_CONCURRENT_CALLS`); then the socket goes to its call session.
 *
 * @module
 */

import type { Context } from "hono";
import { type AdmissionState, limitHit, type LimitLog, refuseCall } from "./admission.ts";

/** Upgrades `c`'s request and hands the socket to `start`, or answers why it cannot. */
export function upgradeCall(
  services: AdmissionState & LimitLog,
  c: Context,
  options: {
    route: string;
    start: (socket: WebSocket) => void;
    upgrade?: Deno.UpgradeWebSocketOptions;
  },
): Response {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return c.text("Expected a WebSocket upgrade", 426);
  }
  const refused = refuseCall(services);
  if (refused) {
    limitHit(services, refused, { route: options.route });
    return c.text("Not taking calls", 503);
  }
  const { socket, response } = Deno.upgradeWebSocket(c.req.raw, options.upgrade);
  options.start(socket);
  return response;
}
