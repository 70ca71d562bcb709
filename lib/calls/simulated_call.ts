/**
 * Starting a simulated call, for the simulator page (`POST /simulator/token`) and the scenario
 * runner alike: a call SID, the params stored under a reference the way `POST /api/calls` stores
 * them (so `{{from}}` and `{{customerName}}` render as on a real call, and the call's record gets
 * the tags), the greeting Twilio would say, and a short-lived token that opens the call's socket.
 *
 * @module
 */

import type { AgentProfile } from "../agents/agent_profile.ts";
import { callTemplateValues, renderTemplate } from "../agents/template.ts";
import { type OutboundCall, saveOutbound } from "../records/outbound_store.ts";
import { SIMULATOR_PROTOCOL, type SimulatorTokens } from "../admin/simulator_token.ts";

/** What a simulated call's page or runner gets to open its socket. */
export interface SimulatedCall {
  token: string;
  protocol: string;
  callSid: string;
  /** Twilio says it itself: the agent's first words. */
  greeting: string;
  /** The caller's number, as checked. */
  from: string;
  /** Where the call's params are stored ("" = none). */
  reference: string;
}

/** The simulated call to start. */
export interface SimulatedCallRequest {
  /** The agent's profile the call runs (its greeting is rendered here). */
  profile: AgentProfile;
  from: string;
  params: Record<string, unknown>;
  /** Store the params under a reference (the call then runs as an outbound one). */
  outbound: boolean;
  /** The reference's prefix: `sim` for the simulator, `scn` for a scenario. */
  prefix: string;
  tags?: string[];
  draft?: OutboundCall["draft"];
}

/** What starting a simulated call uses of the service. */
export interface SimulatedCallDeps {
  kv: Deno.Kv;
  tokens: Pick<SimulatorTokens, "issue">;
  /** The greeting of an agent that names none (`WELCOME_GREETING`). */
  welcomeGreeting: string;
}

/** Stores the call's params (when outbound) and issues its token. */
export async function startSimulatedCall(
  deps: SimulatedCallDeps,
  request: SimulatedCallRequest,
): Promise<SimulatedCall> {
  const { profile, from, params, outbound } = request;
  const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
  let reference = "";
  if (outbound) {
    reference = `${request.prefix}-${crypto.randomUUID()}`;
    await saveOutbound(deps.kv, {
      reference,
      agent: profile.name,
      to: from,
      params,
      createdAt: Date.now(),
      ...(request.tags?.length ? { tags: request.tags } : {}),
      ...(request.draft ? { draft: request.draft } : {}),
    });
  }
  const greeting = renderTemplate(
    profile.greeting ?? deps.welcomeGreeting,
    callTemplateValues({
      callSid,
      from,
      to: "client:callbridge",
      direction: outbound ? "outbound-api" : "inbound",
      agent: profile.name,
    }, params),
  );
  const token = await deps.tokens.issue();
  return { token, protocol: SIMULATOR_PROTOCOL, callSid, greeting, from, reference };
}
