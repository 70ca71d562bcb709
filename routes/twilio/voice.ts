/**
 * `POST /twilio/voice[?agent=NAME]`: the voice webhook. `/twilio/voice/relay`,
 * `/twilio/voice/realtime` and `/twilio/voice/sip` pin the call path; plain `/twilio/voice` takes
 * the agent's mode (else `VOICE_MODE`).
 *
 * One file for the four URLs: they differ only in the mode `app.ts` passes to the one handler
 * factory, so there is nothing for `routes/twilio/voice/relay.ts` and the others to hold.
 *
 * @module
 */

import type { Handler } from "hono";
import { busyTwiml, limitHit, refuseCall } from "../../lib/calls/admission.ts";
import { AGENT_UNAVAILABLE } from "../../lib/calls/phrases.ts";
import { sayAndHangUpTwiml } from "../../lib/protocols/twiml.ts";
import { recordUnknownAgent } from "../../lib/records/unknown_agents.ts";
import { agentTwiml, webhookCall } from "../../lib/calls/agent_twiml.ts";
import type { VoiceMode } from "../../lib/platform/config.ts";
import { publicBaseUrl } from "../../lib/platform/public_url.ts";
import type { Services } from "../../lib/services.ts";
import { formParams } from "../../lib/platform/form_params.ts";

/** Returns the TwiML that connects the caller to the agent on `mode` (null = the agent's). */
export function voiceHandler(services: Services, mode: VoiceMode | null): Handler {
  return async (c) => {
    const refused = refuseCall(services);
    if (refused) {
      limitHit(services, refused, { route: "voice" });
      return c.body(busyTwiml(), 200, { "content-type": "text/xml; charset=utf-8" });
    }
    const agent = c.req.query("agent") || "default";
    const call = webhookCall(await formParams(c));
    const known = await services.profiles.knows(agent);
    if (!known) {
      // A number pointed at a mistyped agent: answered by `default`, and listed on /config.
      services.log.warn("voice.unknown_agent", { agent: agent.slice(0, 64), to: call.to });
      await recordUnknownAgent(services.kv, { agent, to: call.to, at: Date.now() });
    }
    // The newest saved version, for the greeting and voice.
    const status = await services.profiles.status(agent);
    if (!status.profile) {
      const name = known ? agent : "default";
      services.log.warn("voice.agent_disabled", { agent: name, problems: status.problems.length });
      services.metrics.disabledAgentCall(name);
      const apology = sayAndHangUpTwiml(AGENT_UNAVAILABLE);
      return c.body(apology, 200, { "content-type": "text/xml; charset=utf-8" });
    }
    const twiml = await agentTwiml(services, {
      base: publicBaseUrl(services.config.publicUrl, c.req.raw),
      agent,
      mode,
      call,
    });
    return c.body(twiml, 200, { "content-type": "text/xml; charset=utf-8" });
  };
}
