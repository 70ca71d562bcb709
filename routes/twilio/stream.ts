/** `GET /twilio/stream`: upgrades Twilio's Media Streams socket into a per-call realtime bridge. */

import type { Handler } from "hono";
import { limitHit, refuseCall } from "../../lib/admission.ts";
import { RealtimeBridge } from "../../lib/realtime_bridge.ts";
import type { Services } from "../../lib/services.ts";

/** Upgrades the request and hands the socket to a new {@link RealtimeBridge}. */
export function streamSocketHandler(services: Services): Handler {
  return (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return c.text("Expected a WebSocket upgrade", 426);
    }
    const refused = refuseCall(services);
    if (refused) {
      limitHit(services, refused, { route: "stream" });
      return c.text("Not taking calls", 503);
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
    new RealtimeBridge(socket, services);
    return response;
  };
}
