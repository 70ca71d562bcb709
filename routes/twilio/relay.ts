/** `GET /twilio/relay`: upgrades Twilio's ConversationRelay socket into a per-call session. */

import type { Handler } from "hono";
import { limitHit, refuseCall } from "../../lib/admission.ts";
import { RelaySession } from "../../lib/relay_session.ts";
import { SIMULATOR_PROTOCOL } from "../../lib/simulator_token.ts";
import type { Services } from "../../lib/services.ts";

/** Upgrades the request and hands the socket to a new {@link RelaySession}. */
export function relaySocketHandler(services: Services): Handler {
  return (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return c.text("Expected a WebSocket upgrade", 426);
    }
    const refused = refuseCall(services);
    if (refused) {
      limitHit(services, refused, { route: "relay" });
      return c.text("Not taking calls", 503);
    }
    // The admin simulator offers its subprotocol (its token was checked with the signature).
    const simulator = c.req.header("sec-websocket-protocol")?.split(",")
      .some((p) => p.trim() === SIMULATOR_PROTOCOL);
    const { socket, response } = Deno.upgradeWebSocket(
      c.req.raw,
      simulator ? { protocol: SIMULATOR_PROTOCOL } : {},
    );
    new RelaySession(socket, services);
    return response;
  };
}
