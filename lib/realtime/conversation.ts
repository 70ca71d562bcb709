/**
 * The model's side of a realtime call: the upstream session, the agent's voice (responses,
 * audio out, barge-in), the transcript, the tools, the key presses given to the model and the
 * greeting. It tells its call ({@link ConversationHost}) when the conversation settles (nothing
 * plays, nothing is owed), when the caller or the agent is active, and when it cannot go on.
 *
 * @module
 */

import type { BadFrames } from "../calls/bad_frames.ts";
import type { CallContext } from "../calls/call_context.ts";
import type { ToolEvent } from "../calls/call_types.ts";
import { DtmfBuffer, dtmfSummary, dtmfTurn } from "../calls/dtmf_buffer.ts";
import type { StreamEnding } from "../calls/stream_ending.ts";
import type { Logger } from "../platform/log.ts";
import {
  cancelResponse,
  createTextItem,
  functionCallOutput,
  type RealtimeServerEvent,
  sessionInstructions,
} from "../protocols/openai_realtime.ts";
import type { CallRecorder } from "../records/call_recorder.ts";
import { AgentVoice, type VoiceDeps } from "./agent_voice.ts";
import { CallTranscript } from "./call_transcript.ts";
import type { RealtimeDeps } from "./realtime_deps.ts";
import {
  type ConversationToolOptions,
  conversationToolRuns,
  languageInstructions,
  type ToolOutput,
  type ToolRuns,
} from "./realtime_tools.ts";
import { sessionFrames } from "./session_config.ts";
import { realtimeModelOf } from "../agents/model_settings.ts";
import type { TwilioStream } from "./twilio_stream.ts";
import { type UpstreamFailure, UpstreamSession } from "./upstream_session.ts";

/** Error codes after which the session cannot go on. */
const FATAL_ERROR_CODES = new Set(["invalid_api_key", "insufficient_quota", "model_not_found"]);

/** What the conversation tells its call. */
export interface ConversationHost {
  /** Nothing plays, nothing is owed, no tool runs: the agent's turn has been heard. */
  settled(): void;
  failed(reason: UpstreamFailure | `openai-${string}`): void;
  /** The caller spoke (or pressed keys); the agent started a response; the agent said nothing. */
  callerActive(): void;
  agentSpeaking(): void;
  agentHeard(): void;
  /** A tool asked the call to end with `ending` once the agent's last words have been heard. */
  endAfterHeard(ending: StreamEnding): void;
}

/** What the conversation uses of its call. */
export interface ConversationParts {
  stats: VoiceDeps["stats"];
  badFrames: BadFrames;
  toolEvents: ToolEvent[];
  /** The call's logger, record and SID as they are now. */
  log(): Logger;
  record(): CallRecorder | null;
  callSid(): string | null;
}

/**
 * The tool runs of a conversation on either engine: what they use of the call is the same; the
 * abort signal, the context, the stream and how a language switch applies are the engine's own.
 */
export function callToolRuns(
  deps: RealtimeDeps,
  host: ConversationHost,
  parts: ConversationParts,
  own: Pick<ConversationToolOptions, "signal" | "context" | "stream" | "switchLanguage">,
): ToolRuns {
  return conversationToolRuns({
    clock: deps.clock,
    sendSms: deps.sendSms,
    handoffNumber: deps.handoffNumber,
    log: parts.log,
    record: parts.record,
    callSid: parts.callSid,
    ran: (event) => parts.toolEvents.push(event),
    endAfterHeard: (ending) => host.endAfterHeard(ending),
    ...own,
  });
}

/** What either engine's upstream session takes from the call: where, the key, the connect limit. */
export function upstreamBasics(deps: RealtimeDeps, parts: ConversationParts) {
  const { limits } = deps;
  return {
    baseUrl: deps.openai.baseUrl,
    apiKey: deps.openai.apiKey ?? "",
    connectTimeoutMs: limits.openaiConnectTimeoutMs,
    clock: deps.clock,
    log: parts.log,
    onConnectTimeout: () =>
      deps.limitHit("openai_connect_timeout", { timeoutMs: limits.openaiConnectTimeoutMs }),
  };
}

/** The model's side of one call. */
export class RealtimeConversation {
  readonly engine = "realtime" as const;
  readonly upstream: UpstreamSession;
  readonly voice: AgentVoice;
  readonly transcript: CallTranscript;
  readonly tools: ToolRuns;
  context: CallContext | null = null;
  /** The caller is speaking (between `speech_started` and `speech_stopped`). */
  callerSpeaking = false;
  readonly #dtmf: DtmfBuffer;
  /** Aborted when the call ends, so running tools stop with it. */
  readonly #toolSignal = new AbortController();
  #stream: TwilioStream | null = null;
  /** The session's instructions: the agent's, rendered for this call (and any language switch). */
  #instructions = "";
  #greeted = false;
  #dtmfDue = false;
  /** The replaced session owed the caller an answer it had not begun: the next one is asked. */
  #answerOwed = false;
  #closed = false;

  constructor(
    private readonly deps: RealtimeDeps,
    private readonly host: ConversationHost,
    private readonly parts: ConversationParts,
  ) {
    const { clock } = deps;
    this.#dtmf = new DtmfBuffer(clock, deps.dtmfDebounceMs, () => this.#flushDtmf());
    this.transcript = new CallTranscript(clock, () => parts.record());
    this.upstream = new UpstreamSession({
      ...upstreamBasics(deps, parts),
      model: deps.openai.realtimeModel,
    }, {
      configure: (session) => this.#configuration(session),
      ready: (flushed) => this.#onReady(flushed),
      event: (event) => this.#onEvent(event),
      bad: (error) => parts.badFrames.drop(error, { source: "openai" }),
      replaced: () => {
        if (this.voice.responses.abandon()) this.#answerOwed = true;
      },
      failed: (reason) => host.failed(reason),
    });
    this.voice = new AgentVoice({
      upstream: this.upstream,
      clock,
      transcript: this.transcript,
      stats: parts.stats,
      log: parts.log,
      record: parts.record,
      instructions: () => this.#instructions,
    });
    this.tools = callToolRuns(deps, host, parts, {
      signal: this.#toolSignal.signal,
      context: () => this.context,
      stream: () => this.#stream,
      switchLanguage: (language) => {
        if (!this.upstream.ready || !this.context) throw new Error("the model is not connected");
        this.#instructions = languageInstructions(this.context.instructions, language);
        this.upstream.send(sessionInstructions(this.#instructions));
      },
    });
  }

  /** Nothing plays, nothing is owed, no tool runs. */
  get settled(): boolean {
    return !this.voice.playing && !this.voice.responses.busy && this.tools.size === 0;
  }

  /** Nobody speaks and nothing is due: a session can change without cutting a sentence. */
  get quiet(): boolean {
    return this.settled && !this.voice.responses.owed && !this.callerSpeaking &&
      !this.#dtmf.pending;
  }

  /** The call's stream started: the agent's audio goes to it. */
  attach(stream: TwilioStream): void {
    this.#stream = stream;
    this.voice.attach(stream);
  }

  /** The call's agent is known: the session is configured as soon as its socket is open. */
  begin(context: CallContext): void {
    this.context = context;
    this.#instructions = context.instructions;
    const settings = realtimeModelOf(context.profile, this.deps.openai);
    this.parts.record()?.setModel({ ...settings, api: null, temperature: null });
    this.upstream.useModel(settings.model);
    this.upstream.configure();
  }

  /** A key press of the caller. */
  press(digit: string): void {
    this.#dtmf.press(digit);
  }

  /** A mark echoed (the Realtime path sends every delta at once: nothing is held). */
  played(): void {}

  /** Stops everything: the session, running tools, pending key presses. */
  close(): void {
    this.#closed = true;
    this.#dtmf.stop();
    this.#toolSignal.abort();
    this.upstream.close();
  }

  /** The frames a new session starts with (null until the call's agent is known). */
  #configuration(session: number): string[] | null {
    if (!this.context) return null;
    const frames = sessionFrames(session, {
      context: this.context,
      instructions: this.#instructions,
      openai: this.deps.openai,
      transcript: this.transcript.entries,
    });
    if (session > 1) this.parts.log().info("realtime.reseeded", { items: frames.length - 1 });
    return frames;
  }

  #onReady(flushed: number): void {
    const session = this.upstream.session;
    this.parts.log().info("realtime.ready", { flushedFrames: flushed, session });
    this.#greet();
    if (this.#dtmfDue) this.#flushDtmf();
    if (this.#answerOwed) {
      this.#answerOwed = false;
      if (!this.voice.responses.busy) this.voice.respond();
    }
  }

  /** The profile's greeting (rendered over the call's data), else one the model makes up. */
  #greet(): void {
    if (this.#greeted || !this.upstream.ready || !this.#stream || !this.context) return;
    this.#greeted = true;
    if (this.context.profile.greeting) return void this.voice.say(this.context.greeting);
    const greeting = this.deps.realtimeGreeting;
    if (greeting) this.voice.ask(greeting);
    else this.host.agentHeard();
  }

  #onEvent(event: RealtimeServerEvent): void {
    const { voice, host, transcript } = this;
    const { clock } = this.deps;
    switch (event.type) {
      case "response.output_audio.delta":
        return voice.audio(event.responseId, event.itemId, event.delta);
      case "input_audio_buffer.speech_started":
        this.callerSpeaking = true;
        host.callerActive();
        // The server cancels an in-progress response itself (interrupt_response): drop what is late.
        voice.responses.muteActive();
        return voice.interrupt("speech");
      case "input_audio_buffer.speech_stopped":
        this.callerSpeaking = false;
        voice.responses.callerStopped(clock.monotonic());
        this.upstream.lastEventAt = clock.now();
        transcript.of("caller", event.itemId);
        return;
      case "response.function_call_arguments.done":
        // Run now; the output goes back when the response is done.
        if (!this.tools.run(event)) this.parts.badFrames.drop("function call before the start");
        return;
      case "response.created":
        host.agentSpeaking();
        voice.responses.created(event.responseId, clock.now());
        return;
      case "response.done": {
        voice.done(event.responseId, event.status, event.usage);
        const outputs = this.tools.take(event.responseId);
        if (!outputs) return this.#settle();
        return void this.#answerTools(outputs, event.status === "completed");
      }
      case "conversation.item.input_audio_transcription.completed":
      case "response.output_audio_transcript.done": {
        const role = event.type === "response.output_audio_transcript.done" ? "agent" : "caller";
        const entry = transcript.of(role, event.itemId);
        entry.text = event.transcript;
        return transcript.save(entry);
      }
      case "error": {
        const { errorType: type, code, message } = event;
        if (FATAL_ERROR_CODES.has(code)) {
          this.parts.log().error("realtime.fatal_error", { type, code, message });
          return host.failed(`openai-${code}`);
        }
        if (code === "conversation_already_has_active_response") voice.responses.requestRefused();
        return this.parts.log().warn("realtime.error", { type, code, message });
      }
      case "session.created":
        return this.parts.log().debug("realtime.session_created");
      case "session.updated":
      case "other":
        return;
    }
  }

  /** Tells the call when the conversation has settled. */
  #settle(): void {
    if (!this.#closed && this.settled) this.host.settled();
  }

  /** Gives the model every output of a response's calls, then lets it answer. */
  async #answerTools(outputs: Promise<ToolOutput[]>, respond: boolean): Promise<void> {
    const answered = await outputs;
    if (this.#closed || !this.upstream.ready) return;
    for (const { callId, output } of answered) {
      this.upstream.send(functionCallOutput(callId, output));
    }
    if (respond && !this.voice.responses.busy) this.voice.respond();
    else this.#settle();
  }

  /** Gives the buffered key presses to the model as one caller turn, and asks for an answer. */
  #flushDtmf(): void {
    if (this.#closed || !this.#dtmf.pending) return;
    if (!this.upstream.ready) {
      this.#dtmfDue = true;
      return;
    }
    this.#dtmfDue = false;
    const keys = this.#dtmf.take();
    this.voice.interrupt("dtmf");
    // One is in progress (or on its way): cancel it so the new one is accepted.
    if (this.voice.responses.cancel()) this.upstream.send(cancelResponse());
    const text = dtmfTurn(keys);
    this.transcript.add("caller", text);
    this.parts.log().info("realtime.dtmf", { digits: keys.length });
    this.parts.record()?.event("dtmf", dtmfSummary(keys));
    this.upstream.send(createTextItem("user", text));
    this.voice.respond();
  }
}
