/**
 * `GET /twilio/stream`: upgrades Twilio's Media Streams socket into a per-call realtime call.
 *
 * @module
 */

import type { Handler } from "hono";
import { upgradeCall } from "../../../lib/calls/socket_upgrade.ts";
import { RealtimeCall } from "../../../lib/realtime/realtime_call.ts";
import type { Services } from "../../../lib/services.ts";

/** Upgrades the request and hands the socket to a new {@link RealtimeCall}. */
export function streamSocketHandler(services: Services): Handler {
  return (c) =>
    upgradeCall(services, c, {
      route: "stream",
      start: (socket) => new RealtimeCall(socket, services.realtimeDeps),
    });
}
