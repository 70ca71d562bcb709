/**
 * `GET /twilio/stream`: upgrades Twilio's Media Streams socket into a per-call realtime call.
 *
 * @module
 */

import type { Handler } from "hono";
import { upgradeCall } from "../../../lib/calls/socket_upgrade.ts";
import { RealtimeCall } from "../../../lib/realtime/realtime_call.ts";
import { SIMULATOR_PROTOCOL, simulatorTokenOf } from "../../../lib/admin/simulator_token.ts";
import type { Services } from "../../../lib/services.ts";

/** Upgrades the request and hands the socket to a new {@link RealtimeCall}. */
export function streamSocketHandler(services: Services): Handler {
  return (c) => {
    // The voice simulator offers its token as a subprotocol; a request that reaches here with
    // one had it checked (and used up) by the signature middleware, so the socket is trusted.
    const simulator = simulatorTokenOf(c.req.header("sec-websocket-protocol")) !== null;
    return upgradeCall(services, c, {
      route: "stream",
      start: (socket) => new RealtimeCall(socket, services.realtimeDeps, { trusted: simulator }),
      upgrade: simulator ? { protocol: SIMULATOR_PROTOCOL } : {},
    });
  };
}
