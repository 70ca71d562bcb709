/** `GET /twilio/relay`: upgrades Twilio's ConversationRelay socket into a per-call session. */

import type { Handler } from "hono";
import { upgradeCall } from "../../lib/call_socket.ts";
import { RelaySession } from "../../lib/relay_session.ts";
import { SIMULATOR_PROTOCOL } from "../../lib/simulator_token.ts";
import type { Services } from "../../lib/services.ts";

/** Upgrades the request and hands the socket to a new {@link RelaySession}. */
export function relaySocketHandler(services: Services): Handler {
  return (c) => {
    // The admin simulator offers its subprotocol (its token was checked with the signature).
    const simulator = c.req.header("sec-websocket-protocol")?.split(",")
      .some((p) => p.trim() === SIMULATOR_PROTOCOL);
    return upgradeCall(services, c, {
      route: "relay",
      start: (socket) => new RelaySession(socket, services),
      upgrade: simulator ? { protocol: SIMULATOR_PROTOCOL } : {},
    });
  };
}
