/**
 * The model's side of a Media Streams call on GPT-Live (`engine: "live"`): the Live session, the
 * agent's voice, the transcript (built from Live's transcript deltas), the tools (run through
 * Live's delegation from the agent's tool set, recorded as on the other paths), the key presses
 * and the greeting. It has the same surface as {@link RealtimeConversation}, so the call
 * ({@link RealtimeCall}) holds either and knows nothing of the engine.
 *
 * @module
 */

import type { CallContext } from "../calls/call_context.ts";
import { DtmfBuffer, dtmfSummary, dtmfTurn } from "../calls/dtmf_buffer.ts";
import {
  commentary,
  continueResponse,
  type DelegatedEvent,
  liveFunctionOutput,
  type LiveServerEvent,
  sessionStart,
} from "../protocols/openai_live.ts";
import {
  callToolRuns,
  type ConversationHost,
  type ConversationParts,
  upstreamBasics,
} from "./conversation.ts";
import { CallTranscript } from "./call_transcript.ts";
import { LiveSession } from "./live_session.ts";
import { LiveVoice } from "./live_voice.ts";
import type { RealtimeDeps } from "./realtime_deps.ts";
import type { ToolRuns } from "./realtime_tools.ts";
import type { TwilioStream } from "./twilio_stream.ts";

/** Error codes after which the session cannot go on. */
const FATAL_ERROR_CODES = new Set(["invalid_api_key", "insufficient_quota", "model_not_found"]);

/** The Live model's side of one call. */
export class LiveConversation {
  readonly engine = "live" as const;
  readonly upstream: LiveSession;
  readonly voice: LiveVoice;
  readonly transcript: CallTranscript;
  readonly tools: ToolRuns;
  context: CallContext | null = null;
  /** The caller is speaking: Live says nothing of it beyond transcript deltas. */
  readonly callerSpeaking = false;
  /** Delegations whose Responses work has not finished. */
  readonly #delegations = new Set<string>();
  readonly #dtmf: DtmfBuffer;
  readonly #toolSignal = new AbortController();
  #stream: TwilioStream | null = null;
  #caller: { id: string; text: string } | null = null;
  #callerLines = 0;
  #greeted = false;
  #audioSeconds = 0;
  #closed = false;

  constructor(
    private readonly deps: RealtimeDeps,
    private readonly host: ConversationHost,
    private readonly parts: ConversationParts,
  ) {
    const { clock } = deps;
    this.#dtmf = new DtmfBuffer(clock, deps.dtmfDebounceMs, () => this.#flushDtmf());
    this.transcript = new CallTranscript(clock, () => parts.record());
    this.upstream = new LiveSession(upstreamBasics(deps, parts), {
      configure: () => this.#configuration(),
      ready: (flushed) => this.#onReady(flushed),
      event: (event) => this.#onEvent(event),
      bad: (error) => parts.badFrames.drop(error, { source: "openai" }),
      failed: (reason) => host.failed(reason),
    });
    this.voice = new LiveVoice({
      upstream: this.upstream,
      clock,
      transcript: this.transcript,
      stats: parts.stats,
      log: parts.log,
      record: parts.record,
      turnClosed: () => this.#settle(),
    });
    this.tools = callToolRuns(deps, host, parts, {
      signal: this.#toolSignal.signal,
      context: () => this.context,
      stream: () => this.#stream,
      switchLanguage: (language) => {
        if (!this.upstream.ready) throw new Error("the model is not connected");
        // Live's instructions are fixed at startup: the switch is context for what follows.
        this.upstream.send(commentary(`From now on, speak ${language}.`));
      },
    });
  }

  /**
   * Nothing plays, no tool runs, no delegation is at work, and the agent's turn is over (Live
   * says nothing when it is: see {@link LiveVoice.turnOpen}).
   */
  get settled(): boolean {
    return !this.voice.playing && this.tools.size === 0 && this.#delegations.size === 0 &&
      !this.voice.turnOpen;
  }

  /** Nobody speaks and nothing is due. */
  get quiet(): boolean {
    return this.settled && !this.#dtmf.pending;
  }

  /** The call's stream started: the agent's audio goes to it. */
  attach(stream: TwilioStream): void {
    this.#stream = stream;
    this.voice.attach(stream);
  }

  /** The call's agent is known: the session starts as soon as its socket is open. */
  begin(context: CallContext): void {
    this.context = context;
    const model = this.deps.openai.liveModel;
    this.parts.record()?.setModel({ model, api: null, temperature: null, maxOutputTokens: null });
    this.upstream.configure();
  }

  /** A key press of the caller. */
  press(digit: string): void {
    this.#dtmf.press(digit);
  }

  /** A mark echoed: held audio may go out. */
  played(): void {
    this.voice.played();
  }

  /** Stops everything: the session (finalized), running tools, pending key presses. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dtmf.stop();
    this.#toolSignal.abort();
    this.voice.stop();
    this.upstream.close();
    if (this.#audioSeconds > 0) {
      this.parts.record()?.event("status", `GPT-Live audio: ${this.#audioSeconds} s`, {
        liveAudioSeconds: this.#audioSeconds,
        maxQueuedMs: Math.round(this.voice.maxQueuedMs),
      });
    }
  }

  #configuration(): string | null {
    const context = this.context;
    if (!context) return null;
    const { profile } = context;
    return sessionStart({
      model: this.deps.openai.liveModel,
      voice: profile.realtimeVoice ?? this.deps.openai.voice,
      instructions: context.instructions,
      delegationModel: profile.model ?? this.deps.openai.model,
      tools: context.tools.declarations(),
    });
  }

  #onReady(flushed: number): void {
    const sessionId = this.upstream.sessionId;
    this.parts.log().info("live.ready", { flushedFrames: flushed, sessionId });
    this.#greet();
  }

  /** The profile's greeting, else one the model makes up (as speakable context). */
  #greet(): void {
    if (this.#greeted || !this.upstream.ready || !this.#stream || !this.context) return;
    this.#greeted = true;
    if (this.context.profile.greeting) return void this.voice.say(this.context.greeting);
    const greeting = this.deps.realtimeGreeting;
    if (greeting) this.voice.ask(greeting);
    else this.host.agentHeard();
  }

  #onEvent(event: LiveServerEvent): void {
    switch (event.type) {
      case "session.output_audio.delta":
        this.host.agentSpeaking();
        this.#caller = null;
        return this.voice.audio(event.delta);
      case "session.output_transcript.delta":
        return this.voice.spoken(event.delta);
      case "session.input_transcript.delta":
        return this.#heardCaller(event.delta);
      case "session.delegation.created":
        this.#delegations.add(event.delegationId);
        return this.parts.log().info("live.delegation", { target: event.target });
      case "response.event":
        return this.#delegated(event.delegationId, event.event);
      case "session.usage.updated":
        this.#audioSeconds = event.seconds;
        return;
      case "session.closed":
        this.#audioSeconds = event.seconds || this.#audioSeconds;
        this.parts.log().info("live.session_closed", { reason: event.reason });
        // Ended by the server (its time limit, a safety filter, …): the call ends for that
        // reason, with the apology, rather than as a dropped socket.
        if (event.reason !== "close_requested") this.host.failed(`openai-${event.reason}`);
        return;
      case "error": {
        const { errorType: type, code, message } = event;
        if (FATAL_ERROR_CODES.has(code)) {
          this.parts.log().error("live.fatal_error", { type, code, message });
          return this.host.failed(`openai-${code}`);
        }
        return this.parts.log().warn("live.error", { type, code, message });
      }
      case "session.started":
      case "other":
        return;
    }
  }

  /** The caller's words: a barge-in when the agent's audio still plays, and their line grows. */
  #heardCaller(delta: string): void {
    this.host.callerActive();
    if (this.voice.playing) this.voice.interrupt("speech");
    this.voice.callerSpoke();
    if (!this.#caller) {
      this.#caller = { id: `live-caller-${++this.#callerLines}`, text: "" };
    }
    const entry = this.transcript.of("caller", this.#caller.id);
    entry.text += delta;
    this.transcript.save(entry);
  }

  /** A nested Responses event of a delegation: run its function calls, answer them when done. */
  #delegated(delegationId: string | null, event: DelegatedEvent): void {
    const id = delegationId ?? "";
    if (event.kind === "function_call") {
      const call = { responseId: id, ...event };
      if (!this.tools.run(call)) this.parts.badFrames.drop("function call before the start");
      return;
    }
    if (event.kind !== "done") return;
    if (event.usage) {
      this.parts.record()?.latency({
        latencyMs: null,
        inputTokens: event.usage.inputTokens,
        outputTokens: event.usage.outputTokens,
        outcome: `delegated-${event.status || "done"}`,
      });
    }
    const outputs = this.tools.take(id);
    if (!outputs) {
      this.#delegations.delete(id);
      return this.#settle();
    }
    void outputs.then((answered) => {
      if (this.#closed || !this.upstream.ready) return;
      for (const { callId, output } of answered) {
        this.upstream.send(liveFunctionOutput(callId, output));
      }
      // The delegated response goes on with the results (its end closes the delegation), and
      // the model speaks them: a goodbye before `end_call`'s hang-up is awaited.
      this.upstream.send(continueResponse());
      this.voice.expect();
    });
  }

  #settle(): void {
    if (!this.#closed && this.settled) this.host.settled();
  }

  /** Gives the buffered key presses to the model as the caller's words. */
  #flushDtmf(): void {
    if (this.#closed || !this.#dtmf.pending || !this.upstream.ready) return;
    const keys = this.#dtmf.take();
    this.voice.interrupt("dtmf");
    const text = dtmfTurn(keys);
    this.transcript.add("caller", text);
    this.parts.record()?.event("dtmf", dtmfSummary(keys));
    this.voice.callerSpoke();
    this.upstream.send(commentary(text));
    this.voice.expect();
  }
}
