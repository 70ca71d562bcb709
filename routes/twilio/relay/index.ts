/**
 * `GET /twilio/relay`: upgrades Twilio's ConversationRelay socket into a per-call session.
 *
 * @module
 */

import type { Handler } from "hono";
import { upgradeCall } from "../../../lib/calls/socket_upgrade.ts";
import { RelaySession } from "../../../lib/relay/relay_session.ts";
import { SIMULATOR_PROTOCOL, simulatorTokenOf } from "../../../lib/admin/simulator_token.ts";
import type { Services } from "../../../lib/services.ts";

/** Upgrades the request and hands the socket to a new {@link RelaySession}. */
export function relaySocketHandler(services: Services): Handler {
  return (c) => {
    // The admin simulator offers its token as a subprotocol; a request that reaches here with
    // one had it checked (and used up) by the signature middleware, so the socket is trusted.
    const simulator = simulatorTokenOf(c.req.header("sec-websocket-protocol")) !== null;
    return upgradeCall(services, c, {
      route: "relay",
      start: (socket) => new RelaySession(socket, services.relayDeps, { trusted: simulator }),
      upgrade: simulator ? { protocol: SIMULATOR_PROTOCOL } : {},
    });
  };
}
