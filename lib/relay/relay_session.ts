/**
 * One ConversationRelay call: owns the socket, the conversation ({@link HeardHistory}), the reply
 * in flight ({@link runTurnLoop}), its tool calls and every timer of the call, and releases all
 * of them when the socket closes.
 *
 * Messages are handled strictly in arrival order (those arriving while set-up loads the call's
 * profile and params wait in a queue). Interrupts and new prompts abort the reply's HTTP stream
 * through its AbortSignal at once, and the history keeps only what the caller heard.
 *
 * @module
 */

import { type CallControls, callSms, type ToolContext } from "../agents/tools.ts";
import { BadFrames } from "../calls/bad_frames.ts";
import type { CallContext } from "../calls/call_context.ts";
import type { CallDeps } from "../calls/call_deps.ts";
import type { LiveCall } from "../calls/call_registry.ts";
import { authenticateCall } from "../calls/call_auth.ts";
import type { CallSocket, ToolEvent, TranscriptEntry } from "../calls/call_types.ts";
import { DtmfBuffer, dtmfTurn } from "../calls/dtmf_buffer.ts";
import { APOLOGY, FINAL_APOLOGY, NOT_CONFIGURED, TIME_LIMIT } from "../calls/phrases.ts";
import { SilenceMonitor } from "../calls/silence_monitor.ts";
import type { TimerId } from "../platform/clock.ts";
import { errorMessage, type Logger, maskPhone } from "../platform/log.ts";
import {
  parseRelayMessage,
  type PromptMessage,
  type RelayInbound,
  type RelayOutbound,
  type SetupMessage,
} from "../protocols/conversation_relay.ts";
import type { CallRecorder } from "../records/call_recorder.ts";
import { HeardHistory } from "./heard_history.ts";
import { Replies, type TurnMetrics } from "./replies.ts";
import { relayControls } from "./relay_controls.ts";
import type { Llm } from "./llm.ts";
import { textModelOf } from "../agents/model_settings.ts";

/** Messages that arrive before the session is ready are kept (not lost), up to this many. */
const MAX_EARLY_MESSAGES = 64;
/**
 * Without speaker events, a sentence counts as heard after about as long as it takes to say:
 * this much, plus {@link SPEECH_MS_PER_CHAR} per character.
 */
const SPEECH_BASE_MS = 1500;
const SPEECH_MS_PER_CHAR = 70;
/** With speaker events, the estimate is only a safety net: twice as long, and this much more. */
const SPEAKER_EVENTS_GRACE_MS = 5000;
/** The close code of a socket whose `setup` carried no valid call token. */
const UNAUTHENTICATED = 4001;

/** What a relay call needs beyond what both paths share. */
export interface RelayDeps extends CallDeps {
  /** Null when no OpenAI key is configured: the caller hears an apology. */
  llm: Llm | null;
  /** Consecutive failed replies after which the call is ended. */
  maxFailures: number;
  /** A tool slower than this makes the caller hear a filler sentence. */
  toolFillerMs: number;
  /** The history's token budget (see {@link HeardHistory}). */
  historyMaxTokens: number;
}

/** Options of {@link RelaySession}. */
export interface RelaySessionOptions {
  /** The socket was authenticated by the admin simulator's token instead of Twilio. */
  trusted?: boolean;
}

/** A live ConversationRelay call. */
export class RelaySession implements LiveCall {
  readonly id = crypto.randomUUID();
  readonly mode = "relay" as const;
  readonly startedAt: number;
  callSid: string | null = null;
  setup: SetupMessage | null = null;
  context: CallContext | null = null;
  /** The conversation as given to the model, kept to what the caller heard. */
  readonly history: HeardHistory;
  readonly transcript: TranscriptEntry[] = [];
  readonly toolEvents: ToolEvent[] = [];
  /** The agent's replies, one in flight at a time. */
  readonly #replies: Replies;
  endReason: string | null = null;

  readonly #deps: RelayDeps;
  readonly #socket: CallSocket;
  /** The socket was authenticated otherwise (the admin simulator's token): no call token needed. */
  readonly #trusted: boolean;
  /** This call's texts (`send_sms`), counted against the agent's limit. */
  readonly #sms;
  readonly #badFrames: BadFrames;
  readonly #dtmf: DtmfBuffer;
  #log: Logger;
  #ready = false;
  #queue: RelayInbound[] = [];
  #heardTimer: TimerId | undefined;
  #speakerEvents = false;
  #silence: SilenceMonitor | null = null;
  #pendingEnd: { reason: string; extra: Record<string, unknown> } | null = null;
  #failures = 0;
  #closed = false;
  /** This call's record, written as the call goes. */
  #record: CallRecorder | null = null;
  #handoff: Record<string, unknown> | null = null;
  /** Before `setup`: the set-up limit; after: the call-duration limit. */
  #limitTimer: TimerId | undefined;

  constructor(socket: CallSocket, deps: RelayDeps, options: RelaySessionOptions = {}) {
    this.#socket = socket;
    this.#deps = deps;
    this.#trusted = options.trusted ?? false;
    this.startedAt = deps.clock.now();
    this.history = new HeardHistory({ maxTokens: deps.historyMaxTokens });
    this.#sms = deps.sendSms ? callSms(deps.sendSms) : null;
    this.#log = deps.log.child({ sessionId: this.id, mode: "relay" });
    this.#badFrames = new BadFrames(() => this.#log, "relay.frame_dropped");
    this.#replies = new Replies({
      clock: deps.clock,
      history: this.history,
      transcript: this.transcript,
      toolEvents: this.toolEvents,
      toolFillerMs: deps.toolFillerMs,
      send: (message) => this.#send(message),
      log: () => this.#log,
      record: () => this.#record,
      context: () => this.context!,
      toolContext: (signal) => this.#toolContext(signal),
      ending: () => this.#pendingEnd !== null,
      replied: (text) => this.#replied(text),
      failed: (err) => this.#failed(err),
    });
    this.#dtmf = new DtmfBuffer(deps.clock, deps.dtmfDebounceMs, () => this.#flushDtmf(true));
    deps.registry.add(this);
    socket.addEventListener("message", (ev) => this.#onFrame(ev.data));
    socket.addEventListener("close", () => this.#dispose("socket closed"));
    socket.addEventListener("error", () => this.#dispose("socket error"));
    this.#limitTimer = deps.clock.setTimeout(() => {
      deps.limitHit("setup_timeout", { phase: "before setup" });
      this.endReason = "setup-timeout";
      socket.close(1000);
    }, deps.limits.setupTimeoutSeconds * 1000);
  }

  /** Latency and usage of each reply so far. */
  get turns(): readonly TurnMetrics[] {
    return this.#replies.turns;
  }

  /** Ends the call now with `end` and the given reason (hand-off data travels with it). */
  end(reason: string, extra: Record<string, unknown> = {}): void {
    if (this.#closed || this.endReason) return;
    this.endReason = reason;
    if (Object.keys(extra).length) this.#handoff = { reason, ...extra };
    if (reason === "live-agent-handoff") {
      this.#record?.event("handoff", "handed off to a person", extra);
    }
    this.#replies.abort("closed");
    this.#silence?.stop();
    this.#log.info("call.end", { reason });
    this.#send({ type: "end", handoffData: JSON.stringify({ reason, ...extra }) });
  }

  #onFrame(data: unknown): void {
    if (this.#closed) return;
    const size = typeof data === "string" ? data.length : (data as ArrayBuffer).byteLength ?? 0;
    if (size > this.#deps.limits.maxMessageBytes) {
      this.#deps.limitHit("max_message_bytes", { size, callSid: this.callSid ?? undefined });
      return;
    }
    const parsed = parseRelayMessage(data);
    if (!parsed.ok) return this.#badFrames.drop(parsed.error);
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
        this.#callerActive();
        return this.#dtmf.press(message.digit);
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
    const options = { path: "relay" as const, log: this.#log, trusted: this.#trusted };
    authenticateCall(this.#deps, setup, options).then((ok) => {
      if (this.#closed) return;
      if (ok) return this.#begin(setup);
      this.endReason = "unauthenticated";
      this.#socket.close(UNAUTHENTICATED, "unauthenticated");
    }, (err) => {
      this.#log.error("call.token_check_failed", { error: errorMessage(err) });
      this.#socket.close(1011);
    });
  }

  /** Starts the authenticated call: its limits, its record, its context. */
  #begin(setup: SetupMessage): void {
    const deps = this.#deps;
    this.callSid = setup.callSid;
    this.#log = this.#log.child({ callSid: setup.callSid });
    deps.clock.clearTimeout(this.#limitTimer);
    this.#limitTimer = deps.clock.setTimeout(() => {
      deps.limitHit("max_call_seconds", { callSid: setup.callSid });
      this.#replies.abort("closed");
      this.#say(TIME_LIMIT);
      this.#pendingEnd = { reason: "max-duration", extra: {} };
    }, deps.limits.maxCallSeconds * 1000);
    // A second socket for the same call (a reconnect): the older session gives way.
    const older = deps.registry.supersede(setup.callSid, this);
    if (older) this.#log.warn("call.superseded", { older });
    this.#log.info("call.start", {
      from: maskPhone(setup.from),
      to: maskPhone(setup.to),
      direction: setup.direction,
      agent: setup.customParameters.agent,
    });
    this.#record = deps.records.open({
      id: this.id,
      callSid: setup.callSid,
      mode: "relay",
      agent: setup.customParameters.agent ?? "default",
      direction: setup.direction || "inbound",
      from: setup.from,
      to: setup.to,
      startedAt: this.startedAt,
    });
    deps.resolveContext({ ...setup, mode: "relay" })
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
    this.#silence = new SilenceMonitor(context.profile.silence, this.#deps.clock, {
      remind: (text) => this.#say(text),
      giveUp: (goodbye) => {
        this.#say(goodbye);
        this.#pendingEnd = { reason: "unresponsive", extra: {} };
      },
    });
    if (context.greeting) {
      // Twilio says the welcome greeting itself; the model must know it was said.
      this.history.said(context.greeting);
      this.#transcribe({ role: "agent", text: context.greeting, at: this.#deps.clock.now() });
      this.#expectHeard(context.greeting);
    }
    if (!this.#deps.llm) {
      this.#log.error("call.not_configured", { missing: "OPENAI_API_KEY" });
      this.#say(NOT_CONFIGURED);
      this.end("not-configured");
      return;
    }
    this.#record?.setModel(textModelOf(context.profile, this.#deps.llm.defaults));
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
    this.#addCaller(text);
    this.#startTurn();
  }

  /** Gives the buffered key presses to the model as one caller turn (and answers them). */
  #flushDtmf(answer: boolean): void {
    const keys = this.#dtmf.take();
    if (!keys || this.#closed) return;
    this.#log.info("relay.dtmf", { digits: keys.length });
    this.#record?.event("dtmf", `${keys.length} key${keys.length > 1 ? "s" : ""} pressed`);
    this.#addCaller(dtmfTurn(keys));
    if (answer) this.#startTurn();
  }

  /** `info` with `events="speaker-events"`: `agentSpeaking` / `clientSpeaking` on and off. */
  #onInfo(data: Record<string, unknown>): void {
    const { name, value } = data;
    if (name === "agentSpeaking") {
      this.#speakerEvents = true;
      if (value === "on") {
        // Its `off` will follow: no need for the estimate any more.
        this.#deps.clock.clearTimeout(this.#heardTimer);
        this.#silence?.agentSpeaking();
      } else if (value === "off" && this.#replies.idle) this.#agentHeard();
    } else if (name === "clientSpeaking" && value === "on") {
      this.#callerActive();
    } else {
      this.#log.debug("relay.info", { name: typeof name === "string" ? name : undefined });
    }
  }

  #onInterrupt(utterance: string): void {
    this.#callerActive();
    this.#replies.abort("interrupted");
    if (!this.history.interrupted(utterance)) return;
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
  }

  #addCaller(text: string): void {
    this.history.caller(text);
    this.#transcribe({ role: "caller", text, at: this.#deps.clock.now() });
  }

  /** The caller spoke or pressed a key: not silent, and not waiting for the agent to finish. */
  #callerActive(): void {
    this.#silence?.callerActive();
    this.#deps.clock.clearTimeout(this.#heardTimer);
  }

  #startTurn(): void {
    if (!this.#deps.llm || this.#closed || this.endReason) return;
    this.#silence?.agentSpeaking();
    this.#replies.start(this.#deps.llm);
  }

  /** The reply is sent: it is heard next (and a tool may have asked to end after it). */
  #replied(text: string): void {
    this.#failures = 0;
    this.#expectHeard(text);
  }

  /** The reply failed: the caller hears an apology, or after too many, a goodbye. */
  #failed(err: unknown): void {
    this.#failures++;
    this.#log.error("llm.failed", { error: errorMessage(err), failures: this.#failures });
    this.#record?.event("error", `the model failed: ${errorMessage(err).slice(0, 120)}`);
    this.history.quiet();
    if (this.#failures >= this.#deps.maxFailures) {
      this.#say(FINAL_APOLOGY);
      this.end("llm-unavailable", { error: errorMessage(err) });
    } else {
      this.#say(APOLOGY);
    }
  }

  #toolContext(signal: AbortSignal): ToolContext {
    const context = this.context!;
    return {
      call: context.call,
      profile: context.profile,
      controls: this.#controls,
      sms: this.#sms,
      handoffNumber: this.#deps.handoffNumber,
      signal,
      log: this.#log,
    };
  }

  /** What tools do to a relay call: messages to Twilio, or an end once the agent is heard. */
  readonly #controls: CallControls = relayControls({
    endAfterHeard: (reason, extra) => (this.#pendingEnd = { reason, extra }),
    send: (message) => this.#send(message),
  });

  /**
   * The agent finished sending `text`: it is heard when Twilio reports `agentSpeaking` off, or,
   * as a safety net, after about as long as it takes to say it.
   */
  #expectHeard(text: string): void {
    const { clock } = this.#deps;
    clock.clearTimeout(this.#heardTimer);
    const speechMs = SPEECH_BASE_MS + text.length * SPEECH_MS_PER_CHAR;
    this.#heardTimer = clock.setTimeout(
      () => this.#agentHeard(),
      this.#speakerEvents ? 2 * speechMs + SPEAKER_EVENTS_GRACE_MS : speechMs,
    );
  }

  /** The agent's turn has been heard in full: end if a tool asked to, else wait for the caller. */
  #agentHeard(): void {
    this.#deps.clock.clearTimeout(this.#heardTimer);
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

  /** Speaks a fixed sentence as one closed turn; the model sees it as said. */
  #say(text: string): void {
    this.#send({ type: "text", token: text, last: true });
    this.#transcribe({ role: "agent", text, at: this.#deps.clock.now() });
    this.history.said(text);
    this.#expectHeard(text);
  }

  #send(message: RelayOutbound): void {
    if (this.#closed || this.#socket.readyState !== WebSocket.OPEN) return;
    this.#socket.send(JSON.stringify(message));
  }

  #dispose(cause: string): void {
    if (this.#closed) return;
    this.#replies.abort("closed");
    this.#closed = true;
    const { clock, registry } = this.#deps;
    this.#dtmf.stop();
    clock.clearTimeout(this.#heardTimer);
    clock.clearTimeout(this.#limitTimer);
    this.#silence?.stop();
    this.#queue = [];
    registry.remove(this);
    this.#record?.end(this.endReason ?? "caller-hangup", this.#handoff);
    this.#log.info("call.closed", {
      cause,
      reason: this.endReason ?? "caller-hangup",
      turns: this.turns.length,
    });
  }
}
