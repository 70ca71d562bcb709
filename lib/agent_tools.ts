/**
 * The tool set of an agent: its built-ins plus its manifest's HTTP tools.
 */

import type { AgentProfile } from "./agent_profile.ts";
import { BUILTINS } from "./builtin_tools.ts";
import { httpTool } from "./http_tool.ts";
import { ToolSet } from "./tools.ts";

/** Options of {@link agentToolSet}. */
export interface AgentToolOptions {
  /** HMAC secret for HTTP tools (`TOOLS_SIGNING_SECRET`). */
  signingSecret: string | null;
  /** Default per-tool timeout (`TOOL_TIMEOUT_MS`). */
  timeoutMs: number;
}

/** Builds the {@link ToolSet} of `profile`. */
export function agentToolSet(profile: AgentProfile, options: AgentToolOptions): ToolSet {
  return new ToolSet([
    ...profile.builtinTools.map((name) => BUILTINS[name]),
    ...profile.httpTools.map((spec) => httpTool(spec, options.signingSecret)),
  ], options.timeoutMs);
}
