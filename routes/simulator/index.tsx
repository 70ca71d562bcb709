/**
 * `GET /simulator`: talk with an agent. The text mode types over the real ConversationRelay
 * socket; the voice mode (`?mode=voice`) talks over the real Media Streams socket with the
 * microphone and the speakers, through the bridge that serves phone calls. Both get their
 * socket token from `POST /simulator/token` (`routes/simulator/token.ts`). `?agent=NAME` picks
 * the agent and `&autostart=1` starts a voice call at once (links from an agent's page, tests).
 *
 * @module
 */

import type { Handler } from "hono";
import { Island } from "../../components/island.tsx";
import { Layout } from "../../components/layout.tsx";
import { renderPage } from "../../components/render.ts";
import { Simulator } from "../../islands/simulator.tsx";
import { VoiceSimulator } from "../../islands/voice_simulator.tsx";
import type { Services } from "../../lib/services.ts";

/** Renders the simulator page, in the text or the voice mode. */
export function simulatorPageHandler(services: Services): Handler {
  return async (c) => {
    await services.profiles.syncCreated();
    const agents = services.profiles.names();
    const voice = c.req.query("mode") === "voice";
    const asked = c.req.query("agent") ?? "";
    const agent = agents.includes(asked) ? asked : agents.includes("default") ? "default" : "";
    const modes = (
      <p class="modes">
        <a href="/simulator" aria-current={voice ? undefined : "page"}>Text</a> ·{" "}
        <a href="/simulator?mode=voice" aria-current={voice ? "page" : undefined}>Voice</a>
      </p>
    );
    if (voice) {
      const props = { agents, agent, autostart: c.req.query("autostart") === "1" };
      return renderPage(
        c,
        <Layout title="Simulator" active="/simulator">
          <h1>Simulator</h1>
          {modes}
          <p class="muted">
            Plays Twilio's part of a speech-to-speech call (a Media Stream): your microphone is the
            caller, the agent's voice plays through your speakers, and talking over it interrupts it
            as on a phone. The call is recorded like any other.
          </p>
          <Island name="voice_simulator" props={props}>
            <VoiceSimulator {...props} />
          </Island>
        </Layout>,
      );
    }
    const props = { agents };
    return renderPage(
      c,
      <Layout title="Simulator" active="/simulator">
        <h1>Simulator</h1>
        {modes}
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
