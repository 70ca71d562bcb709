/**
 * One ConversationRelay call: owns the socket, the conversation history, the in-flight LLM turn
 * and every timer of that call, and releases all of them when the socket closes.
 *
 * Messages are handled strictly in arrival order. Interrupts and new prompts abort the in-flight
 * LLM request through its AbortSignal at once, and the history keeps only what the caller heard.
 */

import type { Config } from "./config.ts";
import {
  parseRelayMessage,
  type PromptMessage,
  type RelayInbound,
  type RelayOutbound,
  type SetupMessage,
} from "./conversation_relay.ts";
import type { CallRegistry, LiveCall } from "./call_registry.ts";
import type { ChatTurn, Llm } from "./llm.ts";

type AssistantTurn = Extract<ChatTurn, { role: "assistant" }>;
import { errorMessage, type Logger, maskPhone } from "./log.ts";

/** Spoken when the model fails; the call goes on. */
export const APOLOGY = "Sorry, I'm having trouble answering right now. Could you say that again?";
/** Spoken before the call is ended after repeated failures. */
export const FINAL_APOLOGY =
  "I'm sorry, I'm having technical difficulties and can't continue this call. Goodbye.";
/** Spoken when no OpenAI key is configured. */
export const NOT_CONFIGURED =
  "Sorry, this assistant isn't set up yet. Please try again later. Goodbye.";

/** Messages that arrive before `setup` are kept (not lost), up to this many. */
const MAX_EARLY_MESSAGES = 64;
/** Malformed frames logged one by one before the session only counts them. */
const MAX_LOGGED_BAD_FRAMES = 10;

/** The minimal socket surface a session needs (a server-side WebSocket). */
export interface RelaySocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", cb: (ev: MessageEvent) => void): void;
  addEventListener(type: "close" | "error", cb: (ev: Event) => void): void;
}

/** What every session shares: configuration and process-wide clients. */
export interface RelaySessionDeps {
  config: Config;
  llm: Llm | null;
  instructions: string;
  log: Logger;
  registry: CallRegistry;
}

/** Latency of one assistant turn, for call records. */
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

class Turn {
  readonly controller = new AbortController();
  /** The history entry of this reply, created at its first token. */
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
  /** The conversation as given to the model (roles alternate). */
  readonly history: ChatTurn[] = [];
  readonly transcript: TranscriptEntry[] = [];
  readonly turns: TurnMetrics[] = [];
  endReason: string | null = null;

  #log: Logger;
  #turn: Turn | null = null;
  /** The assistant message the caller may be hearing right now (trimmed on interrupt). */
  #speaking: AssistantTurn | null = null;
  #early: RelayInbound[] = [];
  #dtmf = "";
  #dtmfTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #badFrames = 0;
  #closed = false;

  constructor(private readonly socket: RelaySocket, private readonly deps: RelaySessionDeps) {
    this.#log = deps.log.child({ sessionId: this.id, mode: "relay" });
    deps.registry.add(this);
    socket.addEventListener("message", (ev) => this.#onFrame(ev.data));
    socket.addEventListener("close", () => this.#dispose("socket closed"));
    socket.addEventListener("error", () => this.#dispose("socket error"));
  }

  /** Ends the call from our side with `end` and the given reason. */
  end(reason: string, extra: Record<string, unknown> = {}): void {
    if (this.#closed || this.endReason) return;
    this.endReason = reason;
    this.#abortTurn("closed");
    this.#log.info("call.end", { reason });
    this.#send({ type: "end", handoffData: JSON.stringify({ reason, ...extra }) });
  }

  #onFrame(data: unknown): void {
    if (this.#closed) return;
    const parsed = parseRelayMessage(data);
    if (!parsed.ok) {
      this.#badFrames++;
      if (this.#badFrames <= MAX_LOGGED_BAD_FRAMES || this.#badFrames % 1000 === 0) {
        this.#log.warn("relay.frame_dropped", { error: parsed.error, count: this.#badFrames });
      }
      return;
    }
    this.#dispatch(parsed.message);
  }

  #dispatch(message: RelayInbound): void {
    if (!this.setup && message.type !== "setup") {
      if (this.#early.length < MAX_EARLY_MESSAGES) this.#early.push(message);
      else this.#log.warn("relay.early_message_dropped", { type: message.type });
      return;
    }
    switch (message.type) {
      case "setup":
        return this.#onSetup(message);
      case "prompt":
        return this.#onPrompt(message);
      case "dtmf":
        return this.#onDtmf(message.digit);
      case "interrupt":
        return this.#onInterrupt(message.utteranceUntilInterrupt);
      case "info":
        return this.#log.debug("relay.info", { info: message.data });
      case "error":
        return this.#log.warn("relay.twilio_error", { description: message.description });
    }
  }

  #onSetup(setup: SetupMessage): void {
    if (this.setup) {
      this.#log.warn("relay.duplicate_setup");
      return;
    }
    this.setup = setup;
    this.callSid = setup.callSid;
    this.#log = this.#log.child({ callSid: setup.callSid });
    this.#log.info("call.start", {
      from: maskPhone(setup.from),
      to: maskPhone(setup.to),
      direction: setup.direction,
    });
    const greeting = this.deps.config.relay.welcomeGreeting;
    if (greeting) {
      const message: AssistantTurn = { role: "assistant", content: greeting };
      this.history.push(message);
      this.#speaking = message;
      this.transcript.push({ role: "agent", text: greeting, at: Date.now() });
    }
    if (!this.deps.llm) {
      this.#log.error("call.not_configured", { missing: "OPENAI_API_KEY" });
      this.#say(NOT_CONFIGURED);
      this.end("not-configured");
      return;
    }
    const early = this.#early;
    this.#early = [];
    for (const message of early) this.#dispatch(message);
  }

  #onPrompt(prompt: PromptMessage): void {
    if (!prompt.last) return; // a draft of the prompt to come
    const text = prompt.voicePrompt.trim();
    if (!text) return;
    this.#flushDtmf(false);
    this.#addUser(text);
    this.#startTurn();
  }

  #onDtmf(digit: string): void {
    this.#dtmf += digit;
    clearTimeout(this.#dtmfTimer);
    if (digit === "#") {
      this.#flushDtmf(true);
      return;
    }
    this.#dtmfTimer = setTimeout(
      () => this.#flushDtmf(true),
      this.deps.config.relay.dtmfDebounceMs,
    );
  }

  /** Gives the buffered key presses to the model as one caller turn. */
  #flushDtmf(answer: boolean): void {
    clearTimeout(this.#dtmfTimer);
    if (!this.#dtmf || this.#closed) return;
    const keys = this.#dtmf;
    this.#dtmf = "";
    this.#log.info("relay.dtmf", { digits: keys.length });
    this.#addUser(`[The caller pressed the keys: ${keys.split("").join(" ")}]`);
    if (answer) this.#startTurn();
  }

  #onInterrupt(utterance: string): void {
    this.#abortTurn("interrupted");
    const message = this.#speaking;
    this.#speaking = null;
    if (!message) return;
    const heard = utterance.trim();
    const index = this.history.lastIndexOf(message);
    const entry = this.transcript.findLast((t) => t.role === "agent");
    if (entry) {
      entry.text = heard;
      entry.interrupted = true;
    }
    this.#log.info("relay.interrupt", { heardChars: heard.length });
    if (index < 0) return;
    if (heard) {
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
    this.transcript.push({ role: "caller", text, at: Date.now() });
    const last = this.history.at(-1);
    if (last?.role === "user") last.content = `${last.content} ${text}`;
    else this.history.push({ role: "user", content: text });
  }

  /** Aborts the in-flight turn, if any; its HTTP stream is closed now. */
  #abortTurn(outcome: TurnMetrics["outcome"]): void {
    const turn = this.#turn;
    if (!turn || turn.done) return;
    turn.done = true;
    turn.metrics.outcome = outcome;
    turn.controller.abort();
    // Close the cut turn so Twilio does not wait for more of it.
    if (turn.message) this.#send({ type: "text", token: "", last: true });
  }

  #startTurn(): void {
    this.#abortTurn("superseded");
    const llm = this.deps.llm;
    if (!llm || this.#closed || this.endReason) return;
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
    const history = this.history.slice();
    try {
      for await (
        const event of llm.stream({
          instructions: this.deps.instructions,
          history,
          signal: turn.controller.signal,
        })
      ) {
        if (turn.aborted) return;
        if (event.type === "tool_call") continue;
        if (event.type === "usage") {
          turn.metrics.inputTokens = event.inputTokens;
          turn.metrics.outputTokens = event.outputTokens;
          continue;
        }
        if (!turn.message) {
          turn.message = { role: "assistant", content: "" };
          this.history.push(turn.message);
          this.#speaking = turn.message;
          turn.metrics.firstTokenMs = performance.now() - turn.startedAtMono;
          this.transcript.push({ role: "agent", text: "", at: Date.now() });
        }
        turn.message.content += event.text;
        this.transcript[this.transcript.length - 1].text = turn.message.content;
        this.#send({ type: "text", token: event.text, last: false });
      }
      if (turn.aborted) return;
      turn.done = true;
      if (!turn.message) throw new Error("the model returned an empty reply");
      this.#send({ type: "text", token: "", last: true });
      this.#failures = 0;
    } catch (err) {
      if (turn.aborted) return;
      turn.done = true;
      turn.metrics.outcome = "failed";
      this.#failures++;
      this.#log.error("llm.failed", { error: errorMessage(err), failures: this.#failures });
      if (turn.message) this.#send({ type: "text", token: " ", last: false });
      this.#speaking = null;
      if (this.#failures >= this.deps.config.openai.maxFailures) {
        this.#say(FINAL_APOLOGY);
        this.end("llm-unavailable", { error: errorMessage(err) });
      } else {
        this.#say(APOLOGY);
      }
    }
  }

  /** Speaks a fixed sentence as one closed turn; the model sees it as said. */
  #say(text: string): void {
    this.#send({ type: "text", token: text, last: true });
    this.transcript.push({ role: "agent", text, at: Date.now() });
    const last = this.history.at(-1);
    if (last?.role === "assistant") {
      last.content = `${last.content} ${text}`;
      this.#speaking = last;
    } else {
      this.#speaking = { role: "assistant", content: text };
      this.history.push(this.#speaking);
    }
  }

  #send(message: RelayOutbound): void {
    if (this.#closed || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify(message));
  }

  #dispose(cause: string): void {
    if (this.#closed) return;
    this.#abortTurn("closed");
    this.#closed = true;
    clearTimeout(this.#dtmfTimer);
    this.deps.registry.remove(this);
    this.#log.info("call.closed", {
      cause,
      reason: this.endReason ?? "caller-hangup",
      turns: this.turns.length,
    });
  }
}
