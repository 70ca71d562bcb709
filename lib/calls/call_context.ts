/**
 * What a call runs with, resolved once when its socket starts: the agent profile chosen by the
 * webhook URL, the outbound params stored for it, and the instructions and greeting rendered
 * over the call's data. Both call paths use it.
 *
 * @module
 */

import { type AgentProfile, parseProfile } from "../agents/agent_profile.ts";
import { loadOutbound } from "../records/outbound_store.ts";
import type { AgentToolSets } from "../agents/agent_tools.ts";
import type { ProfileStore } from "../agents/profile_store.ts";
import { callTemplateValues, renderTemplate } from "../agents/template.ts";
import type { ToolCallInfo, ToolSet } from "../agents/tools.ts";
import type { Logger } from "../platform/log.ts";

/** What resolving a call's context reads. */
export interface ContextSources {
  kv: Deno.Kv;
  log: Logger;
  profiles: Pick<ProfileStore, "load" | "knows">;
  toolSets: AgentToolSets;
  config: { relay: { welcomeGreeting: string }; agentsDir?: string };
}

/** A call's resolved context. */
export interface CallContext {
  profile: AgentProfile;
  call: ToolCallInfo;
  instructions: string;
  /** The relay path's welcome greeting, rendered ("" = none). */
  greeting: string;
  tools: ToolSet;
  /** Tags of the call's record, from its stored params (`scenario`). */
  tags?: string[];
}

/** What the socket's first message tells about the call. */
export interface CallStart {
  callSid: string;
  from: string;
  to: string;
  direction: string;
  mode: "relay" | "realtime" | "sip";
  customParameters: Record<string, string>;
}

/** Resolves the call's profile, params, instructions and tools. */
export async function resolveCallContext(
  services: ContextSources,
  start: CallStart,
): Promise<CallContext> {
  const reference = start.customParameters.reference;
  const outbound = reference ? await loadOutbound(services.kv, reference) : null;
  if (reference && !outbound) {
    services.log.warn("call.reference_unknown", { callSid: start.callSid });
  }
  // Read now, not at start-up: an edit saved on any instance applies from the next call.
  const agent = outbound?.agent ?? start.customParameters.agent;
  if (agent && !(await services.profiles.knows(agent))) {
    services.log.warn("call.unknown_agent", { callSid: start.callSid, agent: agent.slice(0, 64) });
  }
  // A scenario run against an unsaved edit runs the edit's files; the live version stays.
  const profile = outbound?.draft && await services.profiles.knows(outbound.agent)
    ? parseProfile({ name: outbound.agent, ...outbound.draft }, services.config.agentsDir)
    : await services.profiles.load(agent);
  // The webhook answered with an apology; only a profile disabled since then gets here.
  if (!profile) throw new Error(`agent "${agent ?? "default"}" is disabled by its problems`);
  const call: ToolCallInfo = {
    callSid: start.callSid,
    from: start.from,
    to: start.to,
    direction: outbound ? "outbound-api" : start.direction || "inbound",
    agent: profile.name,
    mode: start.mode,
    params: outbound?.params ?? {},
  };
  const values = callTemplateValues(call, call.params);
  const greeting = profile.greeting ?? services.config.relay.welcomeGreeting;
  return {
    profile,
    call,
    instructions: renderTemplate(profile.instructions, values),
    greeting: start.customParameters.reconnect ? "" : renderTemplate(greeting, values),
    tools: services.toolSets.for(profile),
    tags: outbound?.tags ?? [],
  };
}
