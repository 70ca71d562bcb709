/**
 * The agent's replies on a relay call, one at a time: each is streamed to Twilio token by token
 * (with its tool rounds, see {@link runTurnLoop}), can be aborted at once by an interrupt or a new
 * prompt (its HTTP stream and tools stop, the cut reply is closed for Twilio), and leaves its
 * latency, usage and outcome in the call's record.
 *
 * @module
 */

import type { ToolContext } from "../agents/tools.ts";
import type { CallContext } from "../calls/call_context.ts";
import type { ToolEvent, TranscriptEntry } from "../calls/call_types.ts";
import { FILLER } from "../calls/phrases.ts";
import { callTool } from "../calls/tool_calls.ts";
import type { Clock } from "../platform/clock.ts";
import { errorMessage, type Logger } from "../platform/log.ts";
import type { RelayOutbound } from "../protocols/conversation_relay.ts";
import type { CallRecorder } from "../records/call_recorder.ts";
import type { HeardHistory, ToolTurn } from "./heard_history.ts";
import type { Llm, ToolCallRequest } from "./llm.ts";
import { runTurnLoop } from "./turn_loop.ts";
import { textModelOf } from "../agents/model_settings.ts";

/** Latency and usage of one assistant turn, for call records. */
export interface TurnMetrics {
  startedAt: number;
  /** Caller's final prompt → first token sent to Twilio, in ms (null if none was sent). */
  firstTokenMs: number | null;
  outcome: "completed" | "interrupted" | "superseded" | "failed" | "closed";
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
}

/** The reply in flight. */
interface Reply {
  readonly controller: AbortController;
  readonly metrics: TurnMetrics;
  readonly startedAtMono: number;
  /** The reply has a text entry the caller is hearing (or heard). */
  spoke: boolean;
  done: boolean;
}

/** What the replies use of their call. */
export interface RepliesHost {
  clock: Clock;
  history: HeardHistory;
  transcript: TranscriptEntry[];
  toolEvents: ToolEvent[];
  /** A tool slower than this makes the caller hear {@link FILLER}. */
  toolFillerMs: number;
  send(message: RelayOutbound): void;
  /** The call's logger, record, context and tool context as they are now. */
  log(): Logger;
  record(): CallRecorder | null;
  context(): CallContext;
  toolContext(signal: AbortSignal): ToolContext;
  /** A tool asked to end the call: a reply may then end without words. */
  ending(): boolean;
  /** A reply ended in `text` (empty only when {@link ending}). */
  replied(text: string): void;
  /**
   * A reply failed. Its partial text, if any, was left open with a space: the sentence the call
   * says next (an apology) closes it.
   */
  failed(err: unknown): void;
}

/** The replies of one call. */
export class Replies {
  readonly turns: TurnMetrics[] = [];
  #reply: Reply | null = null;

  constructor(private readonly host: RepliesHost) {}

  /** No reply is in flight. */
  get idle(): boolean {
    return !this.#reply || this.#reply.done;
  }

  /** Starts a reply (aborting the one in flight as superseded). */
  start(llm: Llm): void {
    this.abort("superseded");
    const { clock } = this.host;
    const metrics: TurnMetrics = {
      startedAt: clock.now(),
      firstTokenMs: null,
      outcome: "completed",
    };
    this.turns.push(metrics);
    const reply: Reply = {
      controller: new AbortController(),
      metrics,
      startedAtMono: clock.monotonic(),
      spoke: false,
      done: false,
    };
    this.#reply = reply;
    this.#run(llm, reply).catch((err) => {
      // #run handles its own errors; this is a last guard against unhandled rejections.
      this.host.log().error("relay.turn_crashed", { error: errorMessage(err) });
    });
  }

  /** Aborts the reply in flight, if any: its HTTP stream and tools stop now. */
  abort(outcome: TurnMetrics["outcome"]): void {
    const reply = this.#reply;
    if (!reply || reply.done) return;
    reply.done = true;
    reply.metrics.outcome = outcome;
    reply.controller.abort();
    this.#record(reply);
    // Close the cut reply so Twilio does not wait for more of it.
    if (reply.spoke) this.host.send({ type: "text", token: "", last: true });
  }

  async #run(llm: Llm, reply: Reply): Promise<void> {
    const { host } = this;
    const context = host.context();
    let message: { content: string } | null;
    try {
      const end = await runTurnLoop({
        llm,
        model: textModelOf(context.profile, llm.defaults),
        instructions: context.instructions,
        tools: context.tools.declarations(),
        history: host.history,
        signal: reply.controller.signal,
        onTextStart: () => {
          reply.metrics.firstTokenMs ??= host.clock.monotonic() - reply.startedAtMono;
          if (!reply.spoke) host.transcript.push({ role: "agent", text: "", at: host.clock.now() });
          reply.spoke = true;
        },
        onText: (token) => {
          host.transcript[host.transcript.length - 1].text += token;
          host.send({ type: "text", token, last: false });
        },
        onUsage: (input, output, cached) => {
          if (cached) {
            reply.metrics.cachedInputTokens = (reply.metrics.cachedInputTokens ?? 0) + cached;
          }
          reply.metrics.inputTokens = (reply.metrics.inputTokens ?? 0) + input;
          reply.metrics.outputTokens = (reply.metrics.outputTokens ?? 0) + output;
        },
        runTools: (calls, outputs) => this.#runTools(reply, calls, outputs),
      });
      if (end.aborted) return;
      if (!end.message && !host.ending()) throw new Error("the model returned an empty reply");
      message = end.message;
    } catch (err) {
      if (reply.controller.signal.aborted) return;
      reply.done = true;
      reply.metrics.outcome = "failed";
      this.#record(reply);
      if (reply.spoke) host.send({ type: "text", token: " ", last: false });
      return host.failed(err);
    }
    reply.done = true;
    if (message) host.send({ type: "text", token: "", last: true });
    this.#record(reply);
    host.replied(message?.content ?? "");
  }

  /**
   * Runs a round's tool calls in parallel. Their outputs are in the history from the start
   * (pending until they answer), so the history stays valid whatever happens meanwhile.
   */
  async #runTools(reply: Reply, calls: ToolCallRequest[], outputs: ToolTurn[]): Promise<void> {
    const { host } = this;
    const filler = host.clock.setTimeout(() => {
      if (reply.controller.signal.aborted || reply.done) return;
      // Preemptible: the answer that follows replaces it at once.
      host.send({ type: "text", token: FILLER, last: true, preemptible: true });
    }, host.toolFillerMs);
    const context = host.toolContext(reply.controller.signal);
    const tools = host.context().tools;
    const sinks = { log: host.log(), record: host.record() };
    try {
      await Promise.all(calls.map(async (call, i) => {
        const at = host.clock.now();
        const event = await callTool(tools, { ...call, at }, context, sinks);
        outputs[i].output = event.output;
        host.toolEvents.push(event);
      }));
    } finally {
      host.clock.clearTimeout(filler);
    }
  }

  /** Records a finished (or failed, or cut) reply: its transcript line, latency and usage. */
  #record(reply: Reply): void {
    const record = this.host.record();
    if (!record) return;
    const transcript = this.host.transcript;
    const entry = reply.spoke ? transcript.findLast((t) => t.role === "agent") : undefined;
    if (entry) record.transcript(entry);
    const { metrics } = reply;
    record.latency({
      latencyMs: metrics.firstTokenMs === null ? null : Math.round(metrics.firstTokenMs),
      inputTokens: metrics.inputTokens ?? 0,
      outputTokens: metrics.outputTokens ?? 0,
      usage: {
        input: metrics.inputTokens ?? 0,
        cachedInput: metrics.cachedInputTokens ?? 0,
        output: metrics.outputTokens ?? 0,
      },
      outcome: metrics.outcome,
      at: metrics.startedAt,
    });
  }
}
