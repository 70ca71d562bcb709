/**
 * The model's function calls on a realtime call: each runs as soon as it arrives, and a
 * response's outputs go back together once that response is done (the model answers after all
 * of them). And what tools may do to a realtime call, through its stream, its session and what
 * follows the stream.
 *
 * @module
 */

import { type CallControls, callSms, type ToolContext, type ToolSet } from "../agents/tools.ts";
import type { SendSms } from "../calls/call_deps.ts";
import type { CallContext } from "../calls/call_context.ts";
import type { ToolEvent } from "../calls/call_types.ts";
import { callTool, type ToolCallSinks } from "../calls/tool_calls.ts";
import type { Clock } from "../platform/clock.ts";
import type { StreamEnding } from "../calls/stream_ending.ts";
import type { Logger } from "../platform/log.ts";
import { dtmfMulaw } from "../protocols/dtmf_tones.ts";
import { dialTwiml, hangUpTwiml } from "../protocols/twiml.ts";
import type { CallRecorder } from "../records/call_recorder.ts";

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

/** What {@link conversationToolRuns} takes of a conversation (either engine's). */
export interface ConversationToolOptions {
  clock: Clock;
  sendSms: SendSms | null;
  handoffNumber: string | null;
  /** Aborted when the conversation closes: running tools stop. */
  signal: AbortSignal;
  /** The call's context, logger, record, SID and stream as they are now. */
  context(): CallContext | null;
  log(): Logger;
  record(): CallRecorder | null;
  callSid(): string | null;
  stream(): { playRaw(mulaw: Uint8Array): void } | null;
  /** Each call's result, for the call's own list. */
  ran(event: ToolEvent): void;
  endAfterHeard(ending: StreamEnding): void;
  /** How this engine tells its model to speak another language. */
  switchLanguage(language: string): void;
}

/**
 * The tool runs of a realtime conversation, whichever engine: its controls (end, hand-off, key
 * tones into the stream, language), its texts and the context each call runs in.
 */
export function conversationToolRuns(options: ConversationToolOptions): ToolRuns {
  const sms = options.sendSms ? callSms(options.sendSms) : null;
  const controls = realtimeControls({
    endAfterHeard: (ending) => options.endAfterHeard(ending),
    playTones: (digits) => {
      const stream = options.stream();
      if (!stream) throw new Error("the stream has not started");
      stream.playRaw(dtmfMulaw(digits));
    },
    switchLanguage: (language) => options.switchLanguage(language),
  });
  return new ToolRuns({
    clock: options.clock,
    tools: () => options.context()?.tools ?? null,
    context: () => {
      const context = options.context();
      if (!context) return null;
      return {
        call: { ...context.call, callSid: options.callSid() ?? context.call.callSid },
        profile: context.profile,
        controls,
        sms,
        handoffNumber: options.handoffNumber,
        signal: options.signal,
        log: options.log(),
      };
    },
    sinks: () => ({ log: options.log(), record: options.record() }),
    ran: options.ran,
  });
}
