/**
 * One speech-to-speech call: a Twilio Media Streams socket bridged to an OpenAI Realtime (GA)
 * session. The call holds the Twilio side — the socket and its frames, the `start` and its
 * token, the stream's playout ({@link TwilioStream}), the call's record, silence, limits and
 * watchdog, and how the call ends — and hands the model's side to its
 * {@link RealtimeConversation}. It owns every socket and timer of the call and releases them
 * when the call ends, whichever side ends it.
 *
 * @module
 */

import { BadFrames } from "../calls/bad_frames.ts";
import { authenticateCall } from "../calls/call_auth.ts";
import type { CallContext } from "../calls/call_context.ts";
import type { LiveCall } from "../calls/call_registry.ts";
import type { CallSocket, ToolEvent, TranscriptEntry } from "../calls/call_types.ts";
import { TIME_LIMIT } from "../calls/phrases.ts";
import { SilenceMonitor } from "../calls/silence_monitor.ts";
import type { StreamEnding } from "../calls/stream_ending.ts";
import { hangUpTwiml, sayAndHangUpTwiml } from "../protocols/twiml.ts";
import type { TimerId } from "../platform/clock.ts";
import { errorMessage, type Logger } from "../platform/log.ts";
import { parseMediaStreamMessage, type StartMessage } from "../protocols/media_streams.ts";
import type { CallRecorder } from "../records/call_recorder.ts";
import { voiceEngineOf } from "../agents/model_settings.ts";
import type { VoiceEngine } from "../platform/config.ts";
import {
  type ConversationHost,
  type ConversationParts,
  RealtimeConversation,
} from "./conversation.ts";
import { LiveConversation } from "./live_conversation.ts";
import type { RealtimeDeps } from "./realtime_deps.ts";
import type { RealtimeTurn } from "./response_sequencer.ts";
import { closeStream, leaveStream } from "./stream_exit.ts";
import { TwilioStream } from "./twilio_stream.ts";
import { watchdogVerdict } from "./watchdog.ts";

/** The watchdog's period: limits are checked once a second, never per frame. */
const WATCHDOG_MS = 1000;

/** The model's side of a call, on either engine (they have the same surface). */
type Conversation = RealtimeConversation | LiveConversation;

/** The conversation of `engine`. */
function conversationOf(
  engine: VoiceEngine,
  deps: RealtimeDeps,
  host: ConversationHost,
  parts: ConversationParts,
): Conversation {
  return engine === "live"
    ? new LiveConversation(deps, host, parts)
    : new RealtimeConversation(deps, host, parts);
}

/** A live Media Streams ↔ Realtime (or GPT-Live) call. */
export class RealtimeCall implements LiveCall {
  readonly mode = "realtime" as const;
  readonly id = crypto.randomUUID();
  readonly startedAt: number;
  callSid: string | null = null;
  streamSid: string | null = null;
  customParameters: Record<string, string> = {};
  endReason: string | null = null;
  readonly toolEvents: ToolEvent[] = [];
  /** Counters for call records and tests. */
  readonly stats = {
    framesIn: 0,
    framesOut: 0,
    droppedDeltas: 0,
    bargeIns: 0,
    truncates: 0,
    /** Sessions replaced before their time limit, at a quiet moment. */
    renewals: 0,
  };

  readonly #deps: RealtimeDeps;
  readonly #socket: CallSocket;
  #conversation: Conversation;
  readonly #badFrames: BadFrames;
  #log: Logger;
  #stream: TwilioStream | null = null;
  /** `start` arrived and its token is being checked. */
  #starting = false;
  #record: CallRecorder | null = null;
  #silence: SilenceMonitor | null = null;
  /** What a tool (or a limit) asked to follow once the agent's last words have been heard. */
  #pendingEnd: StreamEnding | null = null;
  #watchdog: TimerId | undefined;
  #limitTimer: TimerId | undefined;
  /** Clock time of the last frame from Twilio. */
  #lastTwilioAt: number;
  #closed = false;
  #failing = false;
  /** The socket was authenticated by the admin simulator's token instead of Twilio. */
  readonly #trusted: boolean;

  constructor(socket: CallSocket, deps: RealtimeDeps, options: { trusted?: boolean } = {}) {
    this.#socket = socket;
    this.#trusted = options.trusted ?? false;
    this.#deps = deps;
    const { clock, limits } = deps;
    this.startedAt = clock.now();
    this.#log = deps.log.child({ sessionId: this.id, mode: "realtime" });
    this.#badFrames = new BadFrames(() => this.#log, "realtime.frame_dropped");
    // The configured engine's session opens before the agent is known; see #useEngine.
    this.#conversation = this.#newConversation(deps.openai.voiceEngine);
    this.#lastTwilioAt = clock.now();
    this.#armWatchdog();
    deps.registry.add(this);
    socket.addEventListener("message", (ev) => this.#onTwilioFrame(ev.data));
    socket.addEventListener("close", () => this.#dispose("twilio closed"));
    socket.addEventListener("error", () => this.#dispose("twilio socket error"));
    if (!deps.openai.apiKey) {
      this.#log.error("call.not_configured", { missing: "OPENAI_API_KEY" });
      this.#fail("not-configured");
      return;
    }
    this.#limitTimer = clock.setTimeout(() => {
      if (this.#stream) return;
      deps.limitHit("setup_timeout", { phase: "before start" });
      this.end("setup-timeout");
    }, limits.setupTimeoutSeconds * 1000);
  }

  /** The call's agent and data, once resolved. */
  get context(): CallContext | null {
    return this.#conversation.context;
  }

  /** The call's transcript, in conversation order. */
  get transcript(): readonly TranscriptEntry[] {
    return this.#conversation.transcript.entries;
  }

  /** The model's responses, for call records and tests. */
  get turns(): readonly RealtimeTurn[] {
    return this.#conversation.voice.responses.turns;
  }

  /** True while Twilio may still be playing assistant audio. */
  get playing(): boolean {
    return this.#conversation.voice.playing;
  }

  /** True while the caller speaks (the server's VAD said so). */
  get callerSpeaking(): boolean {
    return this.#conversation.callerSpeaking;
  }

  /**
   * Ends the call from the service side (drain, idle socket, a newer stream for the call): the
   * upstream socket closes now, the stream once the apology is set to follow it.
   */
  end(reason: string): void {
    if (this.#closed) return;
    this.endReason ??= reason;
    this.#log.info("call.end", { reason });
    this.#dispose(reason);
    // A newer stream carries the call on: nothing may follow this one.
    if (reason === "superseded") closeStream(this.#socket);
    else void this.#leave({ reason, twiml: sayAndHangUpTwiml(this.#deps.realtimeFallback) });
  }

  #onTwilioFrame(data: unknown): void {
    if (this.#closed) return;
    const deps = this.#deps;
    this.#lastTwilioAt = deps.clock.now();
    if (typeof data === "string" && data.length > deps.limits.maxMessageBytes) {
      deps.limitHit("max_message_bytes", { size: data.length });
      return this.#bad("message over MAX_WS_MESSAGE_BYTES");
    }
    const parsed = parseMediaStreamMessage(data);
    if (!parsed.ok) return this.#bad(parsed.error);
    const message = parsed.message;
    switch (message.event) {
      case "media":
        // While `start` is being checked, audio waits with what comes before the session is ready.
        if (!this.#stream && !this.#starting) return this.#bad("media before start");
        this.stats.framesIn++;
        this.#stream?.media(message.timestamp);
        if (!this.#conversation.upstream.audio(message.payload)) {
          this.#bad("caller audio buffer full");
        }
        return;
      case "mark": {
        const echo = this.#stream?.mark(message.name) ?? "stale";
        if (echo !== "stale") this.#conversation.played();
        if (echo === "drained") this.#checkHeard();
        else if (echo === "stale") this.#log.debug("twilio.stale_mark");
        return;
      }
      case "dtmf":
        if (!this.#stream && !this.#starting) return this.#bad("dtmf before start");
        this.#silence?.callerActive();
        return this.#conversation.press(message.digit);
      case "start":
        return this.#onStart(message);
      case "connected":
        return this.#log.debug("twilio.connected");
      case "stop":
        this.#log.info("twilio.stop");
        return this.#dispose("twilio stop");
    }
  }

  #bad(error: string): void {
    this.#badFrames.drop(error, { source: "twilio" });
  }

  /**
   * Checks the call's token, then starts the call. A `start` without a valid token closes the
   * stream: nothing it says is believed, no record is opened, no other call is superseded.
   */
  #onStart(start: StartMessage): void {
    if (this.#stream || this.#starting) return this.#bad("duplicate start");
    this.#starting = true;
    const params = start.customParameters;
    const identity = { ...start, from: params.from ?? "", to: params.to ?? "" };
    const check = { path: "stream" as const, log: this.#log, trusted: this.#trusted };
    authenticateCall(this.#deps, identity, check).then((ok) => {
      if (this.#closed) return;
      if (ok) this.#begin(start);
      else this.end("unauthenticated");
    }, (err) => {
      this.#log.error("call.token_check_failed", { error: errorMessage(err) });
      this.end("unauthenticated");
    });
  }

  /** Starts the authenticated call: the upstream session, its limits, record and context. */
  #begin(start: StartMessage): void {
    const deps = this.#deps;
    const params = start.customParameters;
    const conversation = this.#conversation;
    this.#starting = false;
    conversation.upstream.connect();
    this.streamSid = start.streamSid;
    this.callSid = start.callSid;
    this.customParameters = params;
    this.#log = this.#log.child({ callSid: start.callSid });
    const older = deps.registry.supersede(start.callSid, this);
    if (older) this.#log.warn("call.superseded", { older });
    deps.clock.clearTimeout(this.#limitTimer);
    this.#limitTimer = deps.clock.setTimeout(() => {
      deps.limitHit("max_call_seconds", { callSid: start.callSid });
      // The model says the goodbye when it can; otherwise Twilio does, from the TwiML.
      const said = this.#conversation.voice.say(TIME_LIMIT);
      this.#pendingEnd = {
        reason: "max-duration",
        twiml: said ? hangUpTwiml() : sayAndHangUpTwiml(TIME_LIMIT),
      };
      if (!said) this.#checkHeard();
    }, deps.limits.maxCallSeconds * 1000);
    this.#stream = new TwilioStream(this.#socket, start.streamSid, () => deps.clock.monotonic());
    conversation.attach(this.#stream);
    this.#log.info("call.start", { agent: params.agent, tracks: start.tracks });
    const call = {
      callSid: start.callSid,
      from: params.from ?? "",
      to: params.to ?? "",
      direction: params.direction ?? "inbound",
    };
    this.#record = deps.records.open({
      ...call,
      id: this.id,
      mode: "realtime",
      agent: params.agent ?? "default",
      startedAt: this.startedAt,
    });
    deps.resolveContext({ ...call, mode: "realtime", customParameters: params }).then((context) => {
      if (this.#closed) return;
      this.#silence = new SilenceMonitor(context.profile.silence, deps.clock, {
        remind: (text) => void this.#conversation.voice.say(text),
        giveUp: (goodbye) => {
          this.#conversation.voice.say(goodbye);
          this.#pendingEnd = { reason: "unresponsive", twiml: hangUpTwiml() };
        },
      });
      this.#useEngine(voiceEngineOf(context.profile, deps.openai)).begin(context);
    }).catch((err) => {
      this.#log.error("call.setup_failed", { error: errorMessage(err) });
      this.#fail("setup-failed");
    });
  }

  /** A conversation of `engine`, reporting to this call. */
  #newConversation(engine: VoiceEngine): Conversation {
    return conversationOf(engine, this.#deps, {
      settled: () => this.#checkHeard(),
      failed: (reason) => this.#fail(reason),
      callerActive: () => this.#silence?.callerActive(),
      agentSpeaking: () => this.#silence?.agentSpeaking(),
      agentHeard: () => this.#silence?.agentHeard(),
      endAfterHeard: (ending) => (this.#pendingEnd = ending),
    }, {
      stats: this.stats,
      badFrames: this.#badFrames,
      toolEvents: this.toolEvents,
      log: () => this.#log,
      record: () => this.#record,
      callSid: () => this.callSid,
    });
  }

  /**
   * The agent's engine, once it is known: the conversation opened for the configured one is
   * replaced by one of the agent's own, with the caller's audio held meanwhile.
   */
  #useEngine(engine: VoiceEngine): Conversation {
    const old = this.#conversation;
    if (old.engine === engine) return old;
    this.#log.info("realtime.engine_switch", { engine });
    const next = this.#newConversation(engine);
    next.upstream.hold(old.upstream.takeHeld());
    old.close();
    this.#conversation = next;
    if (this.#stream) next.attach(this.#stream);
    next.upstream.connect();
    return next;
  }

  /**
   * Called whenever playout or responses settle: once nothing is playing, in progress or
   * pending, the agent's turn has been heard — end the call if a tool asked to, else the
   * caller's silence starts counting.
   */
  #checkHeard(): void {
    if (this.#closed || !this.#conversation.settled) return;
    const pending = this.#pendingEnd;
    if (!pending) return this.#silence?.agentHeard();
    this.#pendingEnd = null;
    this.endReason ??= pending.reason;
    if (pending.reason === "live-agent-handoff") {
      this.#record?.event("handoff", "handed off to a person");
    }
    this.#log.info("call.end", { reason: pending.reason });
    this.#dispose(pending.reason);
    void this.#leave(pending);
  }

  /**
   * The upstream side failed: the caller must not be left in dead air. The apology follows the
   * stream (through the REST API at once with credentials, else through `<Connect action>`).
   */
  #fail(reason: string): void {
    if (this.#closed || this.#failing) return;
    this.#failing = true;
    this.endReason ??= reason || "upstream-failed";
    this.#record?.event("error", `the call could not go on: ${this.endReason}`);
    this.#dispose(this.endReason);
    const apology = sayAndHangUpTwiml(this.#deps.realtimeFallback);
    void this.#leave({ reason: this.endReason, twiml: apology });
  }

  /** Leaves the stream with `ending` next (see {@link leaveStream}). */
  #leave(ending: StreamEnding): Promise<void> {
    const { streamEndings } = this.#deps;
    // A simulated call has no Twilio call to redirect: closing its stream ends it.
    const redirect = this.#trusted ? null : this.#deps.redirect;
    const exit = { socket: this.#socket, callSid: this.callSid, endings: streamEndings, redirect };
    return leaveStream({ ...exit, log: this.#log }, ending);
  }

  /** Once a second (never per frame): idle stream, stalled model, session due for renewal. */
  #armWatchdog(): void {
    const { clock, limits, openai } = this.#deps;
    this.#watchdog = clock.setTimeout(() => {
      if (this.#closed) return;
      const { upstream, voice } = this.#conversation;
      const verdict = watchdogVerdict({
        now: clock.now(),
        lastTwilioAt: this.#lastTwilioAt,
        idleTimeoutMs: limits.idleTimeoutSeconds * 1000,
        upstreamReady: upstream.ready,
        owed: voice.responses.owed,
        lastUpstreamAt: upstream.lastEventAt,
        stallTimeoutMs: openai.timeoutMs,
        readyAt: upstream.readyAt,
        // A Live session lasts as long as the call: it is never renewed.
        renewAfterMs: this.#conversation.engine === "live"
          ? Infinity
          : (openai.realtimeSessionSeconds - openai.realtimeRenewSeconds) * 1000,
        quiet: this.#conversation.quiet && !this.#pendingEnd,
      });
      if (verdict === "idle") {
        this.#deps.limitHit("idle_timeout", { callSid: this.callSid ?? undefined });
        return this.end("idle-timeout");
      }
      if (verdict === "stalled") {
        this.#log.error("realtime.stalled", { silentMs: clock.now() - upstream.lastEventAt });
        return this.#fail("upstream-stalled");
      }
      if (verdict === "renew") {
        // The new session is re-seeded; the caller's audio meanwhile is held and flushed into it.
        this.stats.renewals++;
        const seconds = Math.round((clock.now() - upstream.readyAt) / 1000);
        this.#log.info("realtime.renew", { sessionSeconds: seconds });
        upstream.renew();
      }
      this.#armWatchdog();
    }, WATCHDOG_MS);
  }

  /** Releases everything the call holds (its stream closes as it leaves it). */
  #dispose(cause: string): void {
    if (this.#closed) return;
    this.#closed = true;
    const { clock, registry } = this.#deps;
    clock.clearTimeout(this.#watchdog);
    clock.clearTimeout(this.#limitTimer);
    this.#silence?.stop();
    this.#conversation.close();
    registry.remove(this);
    this.#record?.frames(this.stats.framesIn, this.stats.framesOut);
    this.#record?.end(this.endReason ?? "caller-hangup");
    this.#log.info("call.closed", {
      cause,
      reason: this.endReason ?? "caller-hangup",
      turns: this.turns.length,
      framesIn: this.stats.framesIn,
      framesOut: this.stats.framesOut,
      bargeIns: this.stats.bargeIns,
      badFrames: this.#badFrames.count,
    });
  }
}
