/**
 * The model's function calls on a realtime call: each runs as soon as it arrives, and a
 * response's outputs go back together once that response is done (the model answers after all
 * of them). And what tools may do to a realtime call, through its stream, its session and what
 * follows the stream.
 *
 * @module
 */

import type { CallControls, ToolContext, ToolSet } from "../agents/tools.ts";
import type { ToolEvent } from "../calls/call_types.ts";
import { callTool, type ToolCallSinks } from "../calls/tool_calls.ts";
import type { Clock } from "../platform/clock.ts";
import type { StreamEnding } from "../calls/stream_ending.ts";
import { dialTwiml, hangUpTwiml } from "../protocols/twiml.ts";

/** One call's output, for `function_call_output`. */
export interface ToolOutput {
  callId: string;
  output: string;
}

/** What running a call's tools takes. */
export interface ToolRunDeps {
  clock: Clock;
  /** The context a call runs in, as it is now (null before the call's agent is known). */
  context(): ToolContext | null;
  tools(): ToolSet | null;
  sinks(): ToolCallSinks;
  /** Each call's result, for the call's own list. */
  ran(event: ToolEvent): void;
}

/** The running tool calls of each response. */
export class ToolRuns {
  readonly #runs = new Map<string, Promise<ToolOutput>[]>();

  constructor(private readonly deps: ToolRunDeps) {}

  /** Responses whose calls have not all been handed back. */
  get size(): number {
    return this.#runs.size;
  }

  /** Runs the model's call `name(args)` of `responseId` now; false before the call has a context. */
  run(call: { responseId: string; callId: string; name: string; arguments: string }): boolean {
    const { deps } = this;
    const context = deps.context();
    const tools = deps.tools();
    if (!context || !tools) return false;
    const at = deps.clock.now();
    const run = callTool(
      tools,
      { name: call.name, arguments: call.arguments, at },
      context,
      deps.sinks(),
    )
      .then((event) => {
        deps.ran(event);
        return { callId: call.callId, output: event.output };
      });
    const runs = this.#runs.get(call.responseId) ?? [];
    runs.push(run);
    this.#runs.set(call.responseId, runs);
    return true;
  }

  /** All of `responseId`'s outputs once they have answered (undefined: it called none). */
  take(responseId: string): Promise<ToolOutput[]> | undefined {
    const runs = this.#runs.get(responseId);
    if (!runs) return undefined;
    this.#runs.delete(responseId);
    return Promise.all(runs);
  }
}

/** What the tools of a realtime call can ask of it. */
export interface RealtimeActions {
  /** End the call with `ending` once the agent's last words have been heard. */
  endAfterHeard(ending: StreamEnding): void;
  /** Play key tones into the call. */
  playTones(digits: string): void;
  /** Speak (and expect) another language from now on. */
  switchLanguage(language: string): void;
}

/** The {@link CallControls} of a realtime call. */
export function realtimeControls(actions: RealtimeActions): CallControls {
  return {
    endCall: () => actions.endAfterHeard({ reason: "agent-ended", twiml: hangUpTwiml() }),
    transferToHuman: ({ number }) => {
      if (!number) throw new Error("no number to transfer to");
      actions.endAfterHeard({ reason: "live-agent-handoff", twiml: dialTwiml(number) });
    },
    sendDigits: (digits) => actions.playTones(digits),
    switchLanguage: (language) => actions.switchLanguage(language),
  };
}

/** The session's instructions after switching to `language`. */
export function languageInstructions(instructions: string, language: string): string {
  return `${instructions}\n\nFrom now on, speak ${language}, and expect the caller to speak ${language}.`;
}
