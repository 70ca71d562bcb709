/**
 * One ConversationRelay call: owns the socket, the conversation history, the in-flight LLM turn,
 * its tool calls and every timer of that call, and releases all of them when the socket closes.
 *
 * Messages are handled strictly in arrival order (those arriving while set-up loads the call's
 * profile and params wait in a queue). Interrupts and new prompts abort the in-flight LLM request
 * through its AbortSignal at once, and the history keeps only what the caller heard.
 *
 * @module
 */

import { limitHit, TIME_LIMIT } from "../calls/admission.ts";
import type { CallRecorder } from "../records/call_recorder.ts";
import type { CallRegistry, LiveCall } from "../calls/call_registry.ts";
import { CALL_TOKEN_PARAMETER } from "../calls/call_token.ts";
import { type CallContext, resolveCallContext } from "../calls/call_context.ts";
import type { TimerId } from "../platform/clock.ts";
import {
  parseRelayMessage,
  type PromptMessage,
  type RelayInbound,
  type RelayOutbound,
  type SetupMessage,
} from "../protocols/conversation_relay.ts";
import type { ChatTurn, Llm, ToolCallRequest } from "./llm.ts";
import { errorMessage, type Logger, maskPhone } from "../platform/log.ts";
import type { Services } from "../services.ts";
import { SilenceMonitor } from "../calls/silence_monitor.ts";
import { type CallControls, callSms, type SmsSender, type ToolContext } from "../agents/tools.ts";

/** Spoken when the model fails; the call goes on. */
export const APOLOGY = "Sorry, I'm having trouble answering right now. Could you say that again?";
/** Spoken before the call is ended after repeated failures. */
export const FINAL_APOLOGY =
  "I'm sorry, I'm having technical difficulties and can't continue this call. Goodbye.";
/** Spoken when no OpenAI key is configured. */
export const NOT_CONFIGURED =
  "Sorry, this assistant isn't set up yet. Please try again later. Goodbye.";
/** Heard while a slow tool runs. */
export const FILLER = "One moment…";
/** A tool's output while it has not answered (e.g. the caller interrupted). */
const TOOL_PENDING = JSON.stringify({ error: "The caller interrupted before the tool answered." });

/** Messages that arrive before the session is ready are kept (not lost), up to this many. */
const MAX_EARLY_MESSAGES = 64;
/** Malformed frames logged one by one before the session only counts them. */
const MAX_LOGGED_BAD_FRAMES = 10;
/** Key presses buffered before they are given to the model at once. */
const MAX_DTMF_DIGITS = 32;
/** Model → tools → model rounds in one turn before it is failed. */
const MAX_TOOL_ROUNDS = 5;

type AssistantTurn = Extract<ChatTurn, { role: "assistant" }>;
type ToolTurn = Extract<ChatTurn, { role: "tool" }>;

/** The minimal socket surface a session needs (a server-side WebSocket). */
export interface RelaySocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", cb: (ev: MessageEvent) => void): void;
  addEventListener(type: "close" | "error", cb: (ev: Event) => void): void;
}

/** Options of {@link RelaySession}. */
export interface RelaySessionOptions {
  /** The socket was authenticated by the admin simulator's token instead of Twilio. */
  trusted?: boolean;
}

/** Latency and usage of one assistant turn, for call records. */
export interface TurnMetrics {
  startedAt: number;
  /** Caller's final prompt → first token sent to Twilio, in ms (null if none was sent). */
  firstTokenMs: number | null;
  outcome: "completed" | "interrupted" | "superseded" | "failed" | "closed";
  inputTokens?: number;
  outputTokens?: number;
}

/** A transcript line as the caller experienced it. */
export interface TranscriptEntry {
  role: "caller" | "agent";
  text: string;
  at: number;
  interrupted?: boolean;
}

/** One tool call and its result, for call records. */
export interface ToolEvent {
  at: number;
  name: string;
  arguments: string;
  ok: boolean;
  output: string;
  durationMs: number;
}

class Turn {
  readonly controller = new AbortController();
  /** The latest history entry of this reply's text, created at its first token. */
  message: AssistantTurn | null = null;
  done = false;
  constructor(readonly metrics: TurnMetrics, readonly startedAtMono: number) {}
  get aborted(): boolean {
    return this.controller.signal.aborted;
  }
}

/** A live ConversationRelay call. */
export class RelaySession implements LiveCall {
  readonly id = crypto.randomUUID();
  readonly mode = "relay" as const;
  readonly startedAt = Date.now();
  callSid: string | null = null;

  setup: SetupMessage | null = null;
  context: CallContext | null = null;
  /** The conversation as given to the model (user and assistant turns alternate). */
  readonly history: ChatTurn[] = [];
  readonly transcript: TranscriptEntry[] = [];
  readonly turns: TurnMetrics[] = [];
  readonly toolEvents: ToolEvent[] = [];
  endReason: string | null = null;

  readonly #services: Services;
  readonly #registry: CallRegistry;
  #log: Logger;
  #ready = false;
  #queue: RelayInbound[] = [];
  #turn: Turn | null = null;
  /** The assistant message the caller may be hearing right now (trimmed on interrupt). */
  #speaking: AssistantTurn | null = null;
  #dtmf = "";
  #dtmfTimer: TimerId | undefined;
  #heardTimer: TimerId | undefined;
  #speakerEvents = false;
  #silence: SilenceMonitor | null = null;
  #pendingEnd: { reason: string; extra: Record<string, unknown> } | null = null;
  #failures = 0;
  #badFrames = 0;
  #closed = false;
  /** This call's record, written as the call goes. */
  #record: CallRecorder | null = null;
  #handoff: Record<string, unknown> | null = null;
  /** Before `setup`: the set-up limit; after: the call-duration limit. */
  #limitTimer: TimerId | undefined;
  /** This call's texts (`send_sms`), counted against the agent's limit. */
  readonly #sms: SmsSender | null;
  /** The socket was authenticated otherwise (the admin simulator's token): no call token needed. */
  readonly #trusted: boolean;

  constructor(
    private readonly socket: RelaySocket,
    services: Services,
    options: RelaySessionOptions = {},
  ) {
    this.#services = services;
    this.#registry = services.registry;
    this.#trusted = options.trusted ?? false;
    const send = services.twilio?.sendSms;
    this.#sms = send ? callSms(send) : null;
    this.#log = services.log.child({ sessionId: this.id, mode: "relay" });
    this.#registry.add(this);
    socket.addEventListener("message", (ev) => this.#onFrame(ev.data));
    socket.addEventListener("close", () => this.#dispose("socket closed"));
    socket.addEventListener("error", () => this.#dispose("socket error"));
    const { limits } = services.config;
    this.#limitTimer = services.clock.setTimeout(() => {
      limitHit(services, "setup_timeout", { phase: "before setup" });
      this.endReason = "setup-timeout";
      socket.close(1000);
    }, limits.setupTimeoutSeconds * 1000);
  }

  /** Ends the call now with `end` and the given reason (hand-off data travels with it). */
  end(reason: string, extra: Record<string, unknown> = {}): void {
    if (this.#closed || this.endReason) return;
    this.endReason = reason;
    if (Object.keys(extra).length) this.#handoff = { reason, ...extra };
    if (reason === "live-agent-handoff") {
      this.#record?.event("handoff", "handed off to a person", extra);
    }
    this.#abortTurn("closed");
    this.#silence?.stop();
    this.#log.info("call.end", { reason });
    this.#send({ type: "end", handoffData: JSON.stringify({ reason, ...extra }) });
  }

  #onFrame(data: unknown): void {
    if (this.#closed) return;
    const size = typeof data === "string" ? data.length : (data as ArrayBuffer).byteLength ?? 0;
    if (size > this.#services.config.limits.maxMessageBytes) {
      limitHit(this.#services, "max_message_bytes", { size, callSid: this.callSid ?? undefined });
      return;
    }
    const parsed = parseRelayMessage(data);
    if (!parsed.ok) {
      this.#badFrames++;
      if (this.#badFrames <= MAX_LOGGED_BAD_FRAMES || this.#badFrames % 1000 === 0) {
        this.#log.warn("relay.frame_dropped", { error: parsed.error, count: this.#badFrames });
      }
      return;
    }
    const message = parsed.message;
    if (this.#ready) return this.#handle(message);
    if (message.type === "setup" && !this.setup) return this.#onSetup(message);
    if (this.#queue.length < MAX_EARLY_MESSAGES) this.#queue.push(message);
    else this.#log.warn("relay.early_message_dropped", { type: message.type });
  }

  #handle(message: RelayInbound): void {
    switch (message.type) {
      case "setup":
        return this.#log.warn("relay.duplicate_setup");
      case "prompt":
        return this.#onPrompt(message);
      case "dtmf":
        return this.#onDtmf(message.digit);
      case "interrupt":
        return this.#onInterrupt(message.utteranceUntilInterrupt);
      case "info":
        return this.#onInfo(message.data);
      case "error":
        return this.#log.warn("relay.twilio_error", { description: message.description });
    }
  }

  /**
   * Checks the call's token, then loads its profile and params; messages meanwhile wait in
   * order. A setup without a valid token closes the socket: nothing it says is believed.
   */
  #onSetup(setup: SetupMessage): void {
    this.setup = setup;
    const { config, callTokens } = this.#services;
    const params = setup.customParameters;
    const checked = this.#trusted || !config.twilio.validateSignature
      ? Promise.resolve(true)
      : callTokens.verify(params[CALL_TOKEN_PARAMETER], {
        callSid: setup.callSid,
        from: setup.from,
        to: setup.to,
        agent: params.agent ?? "",
        reference: params.reference ?? "",
      });
    checked.then((ok) => {
      if (this.#closed) return;
      if (ok) return this.#begin(setup);
      limitHit(this.#services, "call_token", { path: "relay" });
      this.#log.warn("call.token_rejected", { why: "setup without a valid call token" });
      this.endReason = "unauthenticated";
      this.socket.close(4001, "unauthenticated");
    }, (err) => {
      this.#log.error("call.token_check_failed", { error: errorMessage(err) });
      this.socket.close(1011);
    });
  }

  /** Starts the authenticated call: its limits, its record, its context. */
  #begin(setup: SetupMessage): void {
    this.callSid = setup.callSid;
    this.#log = this.#log.child({ callSid: setup.callSid });
    const clock = this.#services.clock;
    clock.clearTimeout(this.#limitTimer);
    this.#limitTimer = clock.setTimeout(() => {
      limitHit(this.#services, "max_call_seconds", { callSid: setup.callSid });
      this.#abortTurn("closed");
      this.#say(TIME_LIMIT);
      this.#pendingEnd = { reason: "max-duration", extra: {} };
    }, this.#services.config.limits.maxCallSeconds * 1000);
    // A second socket for the same call (a reconnect): the older session gives way.
    const older = this.#registry.findBySid(setup.callSid, this);
    if (older) {
      this.#log.warn("call.superseded", { older: older.id });
      older.end("superseded");
    }
    this.#log.info("call.start", {
      from: maskPhone(setup.from),
      to: maskPhone(setup.to),
      direction: setup.direction,
      agent: setup.customParameters.agent,
    });
    this.#record = this.#services.records.open({
      id: this.id,
      callSid: setup.callSid,
      mode: "relay",
      agent: setup.customParameters.agent ?? "default",
      direction: setup.direction || "inbound",
      from: setup.from,
      to: setup.to,
      startedAt: this.startedAt,
    });
    resolveCallContext(this.#services, { ...setup, mode: "relay" })
      .then((context) => this.#start(context))
      .catch((err) => {
        this.#log.error("call.setup_failed", { error: errorMessage(err) });
        this.#say(FINAL_APOLOGY);
        this.end("setup-failed");
      });
  }

  #start(context: CallContext): void {
    if (this.#closed) return;
    this.context = context;
    this.#silence = new SilenceMonitor(context.profile.silence, this.#services.clock, {
      remind: (text) => this.#say(text),
      giveUp: (goodbye) => {
        this.#say(goodbye);
        this.#pendingEnd = { reason: "unresponsive", extra: {} };
      },
    });
    if (context.greeting) {
      const message: AssistantTurn = { role: "assistant", content: context.greeting };
      this.history.push(message);
      this.#speaking = message;
      this.#transcribe({ role: "agent", text: context.greeting, at: Date.now() });
      this.#expectHeard(context.greeting);
    }
    if (!this.#services.llm) {
      this.#log.error("call.not_configured", { missing: "OPENAI_API_KEY" });
      this.#say(NOT_CONFIGURED);
      this.end("not-configured");
      return;
    }
    this.#ready = true;
    const queued = this.#queue;
    this.#queue = [];
    for (const message of queued) this.#handle(message);
  }

  #onPrompt(prompt: PromptMessage): void {
    if (!prompt.last) return; // a draft of the prompt to come
    const text = prompt.voicePrompt.trim();
    if (!text) return;
    this.#callerActive();
    this.#flushDtmf(false);
    this.#addUser(text);
    this.#startTurn();
  }

  #onDtmf(digit: string): void {
    this.#callerActive();
    this.#dtmf += digit;
    this.#services.clock.clearTimeout(this.#dtmfTimer);
    if (digit === "#" || this.#dtmf.length >= MAX_DTMF_DIGITS) return this.#flushDtmf(true);
    this.#dtmfTimer = this.#services.clock.setTimeout(
      () => this.#flushDtmf(true),
      this.#services.config.relay.dtmfDebounceMs,
    );
  }

  /** Gives the buffered key presses to the model as one caller turn. */
  #flushDtmf(answer: boolean): void {
    this.#services.clock.clearTimeout(this.#dtmfTimer);
    if (!this.#dtmf || this.#closed) return;
    const keys = this.#dtmf;
    this.#dtmf = "";
    this.#log.info("relay.dtmf", { digits: keys.length });
    this.#record?.event("dtmf", `${keys.length} key${keys.length > 1 ? "s" : ""} pressed`);
    this.#addUser(`[The caller pressed the keys: ${keys.split("").join(" ")}]`);
    if (answer) this.#startTurn();
  }

  /** `info` with `events="speaker-events"`: `agentSpeaking` / `clientSpeaking` on and off. */
  #onInfo(data: Record<string, unknown>): void {
    const name = data.name;
    const value = data.value;
    if (name === "agentSpeaking") {
      this.#speakerEvents = true;
      if (value === "on") {
        // Its `off` will follow: no need for the estimate any more.
        this.#services.clock.clearTimeout(this.#heardTimer);
        this.#silence?.agentSpeaking();
      } else if (value === "off" && (!this.#turn || this.#turn.done)) this.#agentHeard();
    } else if (name === "clientSpeaking" && value === "on") {
      this.#callerActive();
    } else {
      this.#log.debug("relay.info", { name: typeof name === "string" ? name : undefined });
    }
  }

  #onInterrupt(utterance: string): void {
    this.#callerActive();
    this.#abortTurn("interrupted");
    const message = this.#speaking;
    this.#speaking = null;
    if (!message) return;
    const heard = utterance.trim();
    const entry = this.transcript.findLast((t) => t.role === "agent");
    if (entry) {
      entry.text = heard;
      entry.interrupted = true;
      this.#record?.transcript(entry);
    }
    this.#log.info("relay.interrupt", { heardChars: heard.length });
    this.#record?.event("interrupt", `caller cut in after “${heard.slice(-40)}”`, {
      heardChars: heard.length,
    });
    const index = this.history.lastIndexOf(message);
    if (index < 0) return;
    if (heard || message.toolCalls?.length) {
      message.content = heard;
      return;
    }
    // Nothing was heard: drop the turn and join the caller's turns around it.
    this.history.splice(index, 1);
    const before = this.history[index - 1];
    const after = this.history[index];
    if (before?.role === "user" && after?.role === "user") {
      before.content = `${before.content} ${after.content}`;
      this.history.splice(index, 1);
    }
  }

  #addUser(text: string): void {
    this.#speaking = null;
    this.#transcribe({ role: "caller", text, at: Date.now() });
    const last = this.history.at(-1);
    if (last?.role === "user") last.content = `${last.content} ${text}`;
    else this.history.push({ role: "user", content: text });
  }

  /** The caller spoke or pressed a key: not silent, and not waiting for the agent to finish. */
  #callerActive(): void {
    this.#silence?.callerActive();
    this.#services.clock.clearTimeout(this.#heardTimer);
  }

  /** Aborts the in-flight turn, if any; its HTTP stream and tools are stopped now. */
  #abortTurn(outcome: TurnMetrics["outcome"]): void {
    const turn = this.#turn;
    if (!turn || turn.done) return;
    turn.done = true;
    turn.metrics.outcome = outcome;
    turn.controller.abort();
    this.#recordTurn(turn);
    // Close the cut turn so Twilio does not wait for more of it.
    if (turn.message) this.#send({ type: "text", token: "", last: true });
  }

  #startTurn(): void {
    this.#abortTurn("superseded");
    const llm = this.#services.llm;
    if (!llm || this.#closed || this.endReason) return;
    this.#silence?.agentSpeaking();
    const metrics: TurnMetrics = {
      startedAt: Date.now(),
      firstTokenMs: null,
      outcome: "completed",
    };
    this.turns.push(metrics);
    const turn = new Turn(metrics, performance.now());
    this.#turn = turn;
    this.#runTurn(llm, turn).catch((err) => {
      // #runTurn handles its own errors; this is a last guard against unhandled rejections.
      this.#log.error("relay.turn_crashed", { error: errorMessage(err) });
    });
  }

  async #runTurn(llm: Llm, turn: Turn): Promise<void> {
    const context = this.context!;
    const tools = context.tools.declarations();
    try {
      for (let round = 0;; round++) {
        const calls: ToolCallRequest[] = [];
        let message: AssistantTurn | null = null;
        const events = llm.stream({
          instructions: context.instructions,
          history: this.history.slice(),
          tools,
          signal: turn.controller.signal,
        });
        for await (const event of events) {
          if (turn.aborted) return;
          if (event.type === "usage") {
            turn.metrics.inputTokens = (turn.metrics.inputTokens ?? 0) + event.inputTokens;
            turn.metrics.outputTokens = (turn.metrics.outputTokens ?? 0) + event.outputTokens;
          } else if (event.type === "tool_call") {
            calls.push(event.call);
          } else {
            message ??= this.#beginText(turn);
            message.content += event.text;
            this.transcript[this.transcript.length - 1].text += event.text;
            this.#send({ type: "text", token: event.text, last: false });
          }
        }
        if (turn.aborted) return;
        if (calls.length === 0) break;
        if (round + 1 >= MAX_TOOL_ROUNDS) throw new Error("too many tool rounds in one turn");
        if (message) message.toolCalls = calls;
        else this.history.push({ role: "assistant", content: "", toolCalls: calls });
        await this.#runTools(turn, calls);
        if (turn.aborted) return;
      }
      turn.done = true;
      if (!turn.message && !this.#pendingEnd) throw new Error("the model returned an empty reply");
      if (turn.message) this.#send({ type: "text", token: "", last: true });
      this.#failures = 0;
      this.#recordTurn(turn);
      this.#expectHeard(turn.message?.content ?? "");
    } catch (err) {
      if (turn.aborted) return;
      turn.done = true;
      turn.metrics.outcome = "failed";
      this.#failures++;
      this.#log.error("llm.failed", { error: errorMessage(err), failures: this.#failures });
      this.#record?.event("error", `the model failed: ${errorMessage(err).slice(0, 120)}`);
      this.#recordTurn(turn);
      if (turn.message) this.#send({ type: "text", token: " ", last: false });
      this.#speaking = null;
      if (this.#failures >= this.#services.config.openai.maxFailures) {
        this.#say(FINAL_APOLOGY);
        this.end("llm-unavailable", { error: errorMessage(err) });
      } else {
        this.#say(APOLOGY);
      }
    }
  }

  /** The first token of a round's text: a new history entry the caller starts hearing. */
  #beginText(turn: Turn): AssistantTurn {
    const message: AssistantTurn = { role: "assistant", content: "" };
    this.history.push(message);
    this.#speaking = message;
    if (turn.metrics.firstTokenMs === null) {
      turn.metrics.firstTokenMs = performance.now() - turn.startedAtMono;
    }
    if (!turn.message) this.transcript.push({ role: "agent", text: "", at: Date.now() });
    turn.message = message;
    return message;
  }

  /**
   * Runs the round's tool calls in parallel. Their outputs are in the history from the start
   * (as "interrupted" until they answer), so the history stays valid whatever happens meanwhile.
   */
  async #runTools(turn: Turn, calls: ToolCallRequest[]): Promise<void> {
    const outputs: ToolTurn[] = calls.map((c) => ({
      role: "tool",
      callId: c.id,
      output: TOOL_PENDING,
    }));
    this.history.push(...outputs);
    const clock = this.#services.clock;
    const filler = clock.setTimeout(() => {
      if (turn.aborted || turn.done) return;
      // Preemptible: the answer that follows replaces it at once.
      this.#send({ type: "text", token: FILLER, last: true, preemptible: true });
    }, this.#services.config.tools.fillerAfterMs);
    const context = this.#toolContext(turn.controller.signal);
    try {
      await Promise.all(calls.map(async (call, i) => {
        const result = await this.context!.tools.call(call.name, call.arguments, context);
        outputs[i].output = result.output;
        this.toolEvents.push({ at: Date.now(), arguments: call.arguments, ...result });
        this.#log.info("tool.called", { tool: call.name, ok: result.ok, ms: result.durationMs });
        this.#record?.event("tool", `${call.name} ${result.ok ? "answered" : "failed"}`, {
          name: call.name,
          arguments: call.arguments.slice(0, 2000),
          ok: result.ok,
          output: result.output.slice(0, 2000),
          durationMs: result.durationMs,
        });
      }));
    } finally {
      clock.clearTimeout(filler);
    }
  }

  #toolContext(signal: AbortSignal): ToolContext {
    const context = this.context!;
    return {
      call: context.call,
      profile: context.profile,
      controls: this.#controls,
      sms: this.#sms,
      handoffNumber: this.#services.config.handoffNumber,
      signal,
      log: this.#log,
    };
  }

  /** What tools do to a relay call. */
  readonly #controls: CallControls = {
    endCall: (detail) => {
      this.#pendingEnd = { reason: "agent-ended", extra: detail ? { detail } : {} };
    },
    transferToHuman: ({ number, summary }) => {
      this.#pendingEnd = { reason: "live-agent-handoff", extra: { number, summary } };
    },
    sendDigits: (digits) => this.#send({ type: "sendDigits", digits }),
    switchLanguage: (language) => {
      this.#send({ type: "language", ttsLanguage: language, transcriptionLanguage: language });
    },
  };

  /**
   * The agent finished sending `text`: it is heard when Twilio reports `agentSpeaking` off, or,
   * as a safety net, after about as long as it takes to say it.
   */
  #expectHeard(text: string): void {
    const clock = this.#services.clock;
    clock.clearTimeout(this.#heardTimer);
    const speechMs = 1500 + text.length * 70;
    this.#heardTimer = clock.setTimeout(
      () => this.#agentHeard(),
      this.#speakerEvents ? 2 * speechMs + 5000 : speechMs,
    );
  }

  /** The agent's turn has been heard in full: end if a tool asked to, else wait for the caller. */
  #agentHeard(): void {
    this.#services.clock.clearTimeout(this.#heardTimer);
    if (this.#closed) return;
    if (this.#pendingEnd) {
      const { reason, extra } = this.#pendingEnd;
      this.end(reason, extra);
      return;
    }
    this.#silence?.agentHeard();
  }

  /** Adds a transcript line and records it. */
  #transcribe(entry: TranscriptEntry): void {
    this.transcript.push(entry);
    this.#record?.transcript(entry);
  }

  /** Records a finished (or failed, or cut) turn: its transcript line, latency and usage. */
  #recordTurn(turn: Turn): void {
    const record = this.#record;
    if (!record) return;
    const entry = turn.message ? this.transcript.findLast((t) => t.role === "agent") : undefined;
    if (entry) record.transcript(entry);
    record.latency({
      latencyMs: turn.metrics.firstTokenMs === null ? null : Math.round(turn.metrics.firstTokenMs),
      inputTokens: turn.metrics.inputTokens ?? 0,
      outputTokens: turn.metrics.outputTokens ?? 0,
      outcome: turn.metrics.outcome,
      at: turn.metrics.startedAt,
    });
  }

  /** Speaks a fixed sentence as one closed turn; the model sees it as said. */
  #say(text: string): void {
    this.#send({ type: "text", token: text, last: true });
    this.#transcribe({ role: "agent", text, at: Date.now() });
    const last = this.history.at(-1);
    if (last?.role === "assistant" && !last.toolCalls) {
      last.content = `${last.content} ${text}`.trim();
      this.#speaking = last;
    } else {
      this.#speaking = { role: "assistant", content: text };
      this.history.push(this.#speaking);
    }
    this.#expectHeard(text);
  }

  #send(message: RelayOutbound): void {
    if (this.#closed || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify(message));
  }

  #dispose(cause: string): void {
    if (this.#closed) return;
    this.#abortTurn("closed");
    this.#closed = true;
    const clock = this.#services.clock;
    clock.clearTimeout(this.#dtmfTimer);
    clock.clearTimeout(this.#heardTimer);
    clock.clearTimeout(this.#limitTimer);
    this.#silence?.stop();
    this.#queue = [];
    this.#registry.remove(this);
    this.#record?.end(this.endReason ?? "caller-hangup", this.#handoff);
    this.#log.info("call.closed", {
      cause,
      reason: this.endReason ?? "caller-hangup",
      turns: this.turns.length,
    });
  }
}
