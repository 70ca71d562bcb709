/**
 * `POST /simulator/token`: a short-lived token that opens the ConversationRelay socket for this
 * admin session (a browser cannot sign a WebSocket upgrade the way Twilio does).
 *
 * @module
 */

import type { Handler } from "hono";
import type { Services } from "../../lib/services.ts";
import { SIMULATOR_PROTOCOL, type SimulatorTokens } from "../../lib/admin/simulator_token.ts";
import { callTemplateValues, renderTemplate } from "../../lib/agents/template.ts";

/** Answers `{ token, protocol, callSid, greeting }` for a simulated call to `agent`. */
export function simulatorTokenHandler(services: Services, tokens: SimulatorTokens): Handler {
  return async (c) => {
    const body = await c.req.parseBody();
    const agent = typeof body.agent === "string" && services.profiles.has(body.agent)
      ? body.agent
      : "default";
    const profile = await services.profiles.load(agent);
    if (!profile) {
      return c.json({ error: `agent "${agent}" is disabled: its profile has problems` }, 409);
    }
    const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
    // Twilio speaks the greeting itself: the page shows it as the session records it.
    const greeting = renderTemplate(
      profile.greeting ?? services.config.relay.welcomeGreeting,
      callTemplateValues({
        callSid,
        from: "client:simulator",
        to: "client:callbridge",
        direction: "inbound",
        agent,
      }),
    );
    services.log.info("simulator.token", { agent, callSid });
    return c.json({ token: await tokens.issue(), protocol: SIMULATOR_PROTOCOL, callSid, greeting });
  };
}
