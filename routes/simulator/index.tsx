/**
 * `GET /simulator`: talk with an agent by typing, over the real ConversationRelay socket (the
 * page gets its socket token from `POST /simulator/token`, `routes/simulator/token.ts`).
 *
 * @module
 */

import type { Handler } from "hono";
import { Island } from "../../components/island.tsx";
import { Layout } from "../../components/layout.tsx";
import { renderPage } from "../../components/render.ts";
import { Simulator } from "../../islands/simulator.tsx";
import type { Services } from "../../lib/services.ts";

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
