/**
 * The tool set of an agent: its built-ins plus its manifest's HTTP tools, built once per profile
 * version and shared by that version's calls (compiling the argument schemas costs milliseconds
 * and about 14 KB per set; a set holds no per-call state).
 *
 * @module
 */

import type { AgentProfile } from "./agent_profile.ts";
import { BUILTINS, sendSmsTool } from "./builtin_tools.ts";
import { httpTool } from "./http_tool.ts";
import { ToolSet } from "./tools.ts";

/** Options of {@link agentToolSet}. */
export interface AgentToolOptions {
  /** HMAC secret for HTTP tools (`TOOLS_SIGNING_SECRET`). */
  signingSecret: string | null;
  /** Default per-tool timeout (`TOOL_TIMEOUT_MS`). */
  timeoutMs: number;
  /** This service's base URL, for tools of its own `/demo/…` endpoints. */
  baseUrl?: string | null;
}

/** Builds the {@link ToolSet} of `profile`. */
export function agentToolSet(profile: AgentProfile, options: AgentToolOptions): ToolSet {
  return new ToolSet([
    ...profile.builtinTools.map((name) =>
      name === "send_sms" ? sendSmsTool(profile.sms) : BUILTINS[name]
    ),
    ...profile.httpTools.map((spec) =>
      httpTool(spec, options.signingSecret, {
        allowPrivateNetwork: profile.allowPrivateNetwork,
        baseUrl: options.baseUrl,
      })
    ),
  ], options.timeoutMs);
}

/** The {@link ToolSet} of each loaded profile version, built on first use. */
export class AgentToolSets {
  /** Keyed by the profile object: the profile store keeps one per version. */
  readonly #sets = new WeakMap<AgentProfile, ToolSet>();

  constructor(readonly options: AgentToolOptions) {}

  /** The shared tool set of `profile`. */
  for(profile: AgentProfile): ToolSet {
    let set = this.#sets.get(profile);
    if (!set) {
      set = agentToolSet(profile, this.options);
      this.#sets.set(profile, set);
    }
    return set;
  }
}
