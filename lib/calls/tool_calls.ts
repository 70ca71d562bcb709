/**
 * Running one tool call of the model inside a call, the same way on both paths: validated and
 * run by the agent's tool set, then logged and written to the call's record.
 *
 * @module
 */

import type { ToolContext, ToolSet } from "../agents/tools.ts";
import type { Logger } from "../platform/log.ts";
import type { CallRecorder } from "../records/call_recorder.ts";
import type { ToolEvent } from "./call_types.ts";

/** What {@link callTool} writes to. */
export interface ToolCallSinks {
  log: Logger;
  record: CallRecorder | null;
}

/** Runs `name(args)` with `tools` and records it; never throws (a failure is a result). */
export async function callTool(
  tools: ToolSet,
  call: { name: string; arguments: string; at: number },
  context: ToolContext,
  sinks: ToolCallSinks,
): Promise<ToolEvent> {
  const result = await tools.call(call.name, call.arguments, context);
  sinks.log.info("tool.called", { tool: call.name, ok: result.ok, ms: result.durationMs });
  sinks.record?.event("tool", `${call.name} ${result.ok ? "answered" : "failed"}`, {
    name: call.name,
    arguments: call.arguments.slice(0, 2000),
    ok: result.ok,
    output: result.output.slice(0, 2000),
    durationMs: result.durationMs,
  });
  return { at: call.at, arguments: call.arguments, ...result };
}
