/**
 * `GET /simulator`: talk with an agent by typing, over the real ConversationRelay socket.
 * `POST /simulator/token`: a short-lived token that opens that socket for this admin session.
 */

import type { Handler } from "hono";
import { Island } from "../../components/island.tsx";
import { Layout } from "../../components/layout.tsx";
import { renderPage } from "../../components/render.ts";
import { Simulator } from "../../islands/simulator.tsx";
import type { Services } from "../../lib/services.ts";
import { SIMULATOR_PROTOCOL, type SimulatorTokens } from "../../lib/admin/simulator_token.ts";
import { callTemplateValues, renderTemplate } from "../../lib/agents/template.ts";

/** Renders the simulator page. */
export function simulatorPageHandler(services: Services): Handler {
  return (c) => {
    const props = { agents: services.profiles.names() };
    return renderPage(
      c,
      <Layout title="Simulator" active="/simulator">
        <h1>Simulator</h1>
        <p class="muted">
          Plays Twilio's part of a ConversationRelay call: what you type is the caller's speech, the
          agent's answer streams in token by token. The call is recorded like any other.
        </p>
        <Island name="simulator" props={props}>
          <Simulator {...props} />
        </Island>
      </Layout>,
    );
  };
}

/** Answers `{ token, protocol, callSid, greeting }` for a simulated call to `agent`. */
export function simulatorTokenHandler(services: Services, tokens: SimulatorTokens): Handler {
  return async (c) => {
    const body = await c.req.parseBody();
    const agent = typeof body.agent === "string" && services.profiles.has(body.agent)
      ? body.agent
      : "default";
    const profile = await services.profiles.load(agent);
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
