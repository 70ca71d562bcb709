/**
 * One speech-to-speech call: bridges a Twilio Media Streams socket to an OpenAI Realtime (GA)
 * socket, and owns both sockets, every timer and all of the call's state.
 *
 * Audio passes through as base64 µ-law, never decoded. The bridge knows what the caller heard
 * from the marks Twilio echoes (one after every ≤ 20 ms chunk it sends), so a barge-in truncates
 * the assistant's item to the audio actually played.
 *
 * @module
 */

import { limitHit, TIME_LIMIT } from "../calls/admission.ts";
import type { CallRecorder } from "../records/call_recorder.ts";
import { CALL_TOKEN_PARAMETER } from "../calls/call_token.ts";
import type { CallRegistry, LiveCall } from "../calls/call_registry.ts";
import { type CallContext, resolveCallContext } from "../calls/call_context.ts";
import type { CallRedirector } from "../calls/call_redirect.ts";
import type { TimerId } from "../platform/clock.ts";
import type { Config } from "../platform/config.ts";
import { dtmfMulaw } from "../protocols/dtmf_tones.ts";
import { errorMessage, type Logger } from "../platform/log.ts";
import {
  base64ByteLength,
  MediaStreamWriter,
  MULAW_BYTES_PER_MS,
  parseMediaStreamMessage,
  type StartMessage,
} from "../protocols/media_streams.ts";
import {
  appendAudio,
  cancelResponse,
  createResponse,
  createTextItem,
  functionCallOutput,
  parseServerEvent,
  type RealtimeServerEvent,
  sessionInstructions,
  sessionUpdate,
  truncateItem,
  type Usage,
} from "../protocols/openai_realtime.ts";
import { toWebSocketUrl } from "../platform/public_url.ts";
import type { Services } from "../services.ts";
import { SilenceMonitor } from "../calls/silence_monitor.ts";
import type { StreamEnding, StreamEndings } from "../calls/stream_ending.ts";
import { type CallControls, callSms, type SmsSender, type ToolResult } from "../agents/tools.ts";
import { dialTwiml, hangUpTwiml, sayAndHangUpTwiml } from "../calls/twiml.ts";
import { NoDelayWebSocket } from "../platform/ws_client.ts";

/** Caller audio kept while the upstream session is not ready: 15 s at 50 frames/s. */
const MAX_PENDING_FRAMES = 750;
/** Malformed frames logged one by one before the bridge only counts them. */
const MAX_LOGGED_BAD_FRAMES = 10;
/** Deltas up to 20 ms go to Twilio as they are; longer ones are cut into base64 groups of 3 bytes. */
const CHUNK_BYTES = 160;
/** At most 53 groups (159 bytes ≈ 19.9 ms) per chunk, so a mark follows every ≤ 20 ms of audio. */
const MAX_CHUNK_GROUPS = 53;
/** Acknowledged marks kept at most before they are dropped from the front of the queue. */
const MARKS_COMPACT_AT = 64;
/**
 * The fastest Twilio → bridge transit seen (arrival − media timestamp) may creep up by this much
 * per frame, so a drift between Twilio's clock and ours is followed (≈ 180 ms an hour).
 */
const TRANSIT_DRIFT_PER_FRAME_MS = 0.001;
/** Largest correction for Twilio messages that queued on the way (a stall, not a clock error). */
const MAX_QUEUE_CORRECTION_MS = 100;
/** Key presses buffered before they are given to the model at once. */
const MAX_DTMF_DIGITS = 32;
/** Consecutive reconnects (session expiry) tried before the call is failed. */
const MAX_RECONNECTS = 3;
/** How long a REST redirect may take before the stream is closed anyway. */
const REDIRECT_TIMEOUT_MS = 3000;

/** The minimal server-side socket surface the bridge needs. */
export interface TwilioSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", cb: (ev: MessageEvent) => void): void;
  addEventListener(type: "open" | "close" | "error", cb: (ev: Event) => void): void;
}

/** One tool call and its result, for call records. */
export interface RealtimeToolEvent extends ToolResult {
  at: number;
  arguments: string;
}

/** A transcript line, in conversation order. */
export interface RealtimeTranscriptEntry {
  role: "caller" | "agent";
  text: string;
  /** Epoch ms when the turn began (caller: end of speech; agent: first audio out). */
  at: number;
  itemId?: string;
  /** Agent: the caller cut in after `heardMs` of `audioMs`. */
  interrupted?: boolean;
  heardMs?: number;
  audioMs?: number;
}

/** One model response, for call records. */
export interface RealtimeTurn {
  responseId: string;
  startedAt: number;
  /** Caller stopped speaking (or key press / greeting request) → first audio sent to Twilio. */
  latencyMs: number | null;
  status: string | null;
  usage: Usage | null;
}

/** A mark sent after a chunk of assistant audio, not yet echoed. */
interface PendingMark {
  name: string;
  itemId: string;
  /** Upstream session the item belongs to (item ids do not survive a reconnect). */
  session: number;
  /** Item audio before this chunk, and the chunk's own length, in ms. */
  startMs: number;
  durationMs: number;
  sentAt: number;
}

/** The assistant item whose audio is being received. */
interface OutItem {
  itemId: string;
  responseId: string;
  bytes: number;
  entry: RealtimeTranscriptEntry;
}

/** A live Media Streams ↔ Realtime call. */
export class RealtimeBridge implements LiveCall {
  readonly id = crypto.randomUUID();
  readonly mode = "realtime" as const;
  readonly startedAt = Date.now();
  callSid: string | null = null;
  streamSid: string | null = null;
  customParameters: Record<string, string> = {};

  readonly transcript: RealtimeTranscriptEntry[] = [];
  readonly turns: RealtimeTurn[] = [];
  endReason: string | null = null;
  /** Counters for call records and tests. */
  readonly stats = {
    framesIn: 0,
    framesOut: 0,
    badFrames: 0,
    droppedDeltas: 0,
    bargeIns: 0,
    truncates: 0,
    upstreamConnects: 0,
    /** Sessions replaced before their time limit, at a quiet moment. */
    renewals: 0,
  };

  readonly toolEvents: RealtimeToolEvent[] = [];
  context: CallContext | null = null;

  readonly #twilio: TwilioSocket;
  readonly #services: Services;
  readonly #config: Config;
  readonly #registry: CallRegistry;
  /** Set when Twilio REST credentials are configured. */
  readonly #redirect: CallRedirector | null;
  /** This call's texts (`send_sms`), counted against the agent's limit. */
  readonly #sms: SmsSender | null;
  /** What follows the stream, for Twilio's `<Connect action>` request. */
  readonly #endings: StreamEndings;
  #log: Logger;
  /** The session's instructions: the agent's, as rendered for this call (and any language switch). */
  #instructions = "";
  /** The upstream session whose `session.update` was sent. */
  #configured = 0;
  #silence: SilenceMonitor | null = null;
  /** Tool calls of each response, answered when the response is done. */
  #toolRuns = new Map<string, Promise<{ callId: string; output: string }>[]>();
  /** What a tool asked to happen once the agent's last words have been heard. */
  #pendingEnd: StreamEnding | null = null;
  /** This call's record, written as the call goes. */
  #record: CallRecorder | null = null;
  #writer: MediaStreamWriter | null = null;
  #upstream: NoDelayWebSocket | null = null;
  #session = 0;
  #ready = false;
  #pending: string[] = [];
  /** `start` arrived and its token is being checked. */
  #starting = false;
  #greeted = false;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #reconnects = 0;
  /** The server said the session hit its time limit: its socket's close, whatever the code, reconnects. */
  #expired = false;
  /** Clock time the current upstream session became ready. */
  #readyAt = 0;
  /** The caller is speaking (between `speech_started` and `speech_stopped`). */
  #callerSpeaking = false;
  #closed = false;
  #failing = false;

  // Playout, from marks.
  #generation = 0;
  #marks: PendingMark[] = [];
  #markHead = 0;
  /** When the last echoed mark's audio ended (its arrival, less the time it queued on the way). */
  #lastAckAt = -Infinity;
  /** Lowest (arrival − Twilio's media timestamp) seen: Twilio's clock mapped onto ours. */
  #fastestTransit = Infinity;
  /** How much later than its fastest the last media frame arrived. */
  #twilioQueueMs = 0;
  #out: OutItem | null = null;
  #muted = new Set<string>();

  // Turns.
  #activeResponse: string | null = null;
  /** `response.create`s sent whose `response.created` has not come yet, and how many were cancelled. */
  #requested = 0;
  #cancelledRequests = 0;
  #turnRef: number | null = null;
  #turn: RealtimeTurn | null = null;
  #turnRefMono = 0;
  #dtmf = "";
  #dtmfTimer: TimerId | undefined;
  #dtmfDue = false;

  // Limits and watchdogs (checked once a second, not per frame).
  #watchdog: TimerId | undefined;
  #limitTimer: TimerId | undefined;
  /** Clock time of the last frame from Twilio / from OpenAI. */
  #lastTwilioAt = 0;
  #lastUpstreamAt = 0;
  /** The caller stopped speaking: the server's VAD owes a response. */
  #vadResponseDue = false;

  constructor(socket: TwilioSocket, services: Services) {
    this.#twilio = socket;
    this.#services = services;
    this.#config = services.config;
    this.#registry = services.registry;
    const twilio = services.twilio;
    this.#redirect = twilio ? (sid, twiml) => twilio.updateCall(sid, twiml) : null;
    this.#endings = services.streamEndings;
    this.#sms = twilio?.sendSms ? callSms(twilio.sendSms) : null;
    this.#log = services.log.child({ sessionId: this.id, mode: "realtime" });
    this.#lastTwilioAt = services.clock.now();
    this.#armWatchdog();
    services.registry.add(this);
    socket.addEventListener("message", (ev) => this.#onTwilioFrame(ev.data));
    socket.addEventListener("close", () => this.#dispose("twilio closed"));
    socket.addEventListener("error", () => this.#dispose("twilio socket error"));
    if (!services.config.openai.apiKey) {
      this.#log.error("call.not_configured", { missing: "OPENAI_API_KEY" });
      this.#fail("not-configured");
      return;
    }
    this.#limitTimer = services.clock.setTimeout(() => {
      if (this.#writer) return;
      limitHit(services, "setup_timeout", { phase: "before start" });
      this.end("setup-timeout");
    }, services.config.limits.setupTimeoutSeconds * 1000);
  }

  /** True while the caller speaks (the server's VAD said so). */
  get callerSpeaking(): boolean {
    return this.#callerSpeaking;
  }

  /** True while Twilio may still be playing assistant audio. */
  get playing(): boolean {
    return this.#markHead < this.#marks.length;
  }

  /**
   * Ends the call from the service side (drain, idle socket, a newer stream for the call): the
   * upstream socket closes now, the stream once the apology is set to follow it.
   */
  end(reason: string): void {
    if (this.#closed) return;
    this.endReason ??= reason;
    this.#log.info("call.end", { reason });
    this.#closeUpstream();
    this.#dispose(reason);
    // A newer stream carries the call on: nothing may follow this one.
    if (reason === "superseded") this.#closeTwilio();
    else {void this.#leaveStream({
        reason,
        twiml: sayAndHangUpTwiml(this.#config.realtimeFallback),
      });}
  }

  // ---- Twilio side -------------------------------------------------------------------------

  #onTwilioFrame(data: unknown): void {
    if (this.#closed) return;
    this.#lastTwilioAt = this.#services.clock.now();
    if (typeof data === "string" && data.length > this.#config.limits.maxMessageBytes) {
      limitHit(this.#services, "max_message_bytes", { size: data.length });
      return this.#badFrame("twilio", "message over MAX_WS_MESSAGE_BYTES");
    }
    const parsed = parseMediaStreamMessage(data);
    if (!parsed.ok) return this.#badFrame("twilio", parsed.error);
    const message = parsed.message;
    switch (message.event) {
      case "media":
        // While `start` is being checked, audio waits with the rest of what comes before ready.
        if (!this.#writer && !this.#starting) return this.#badFrame("twilio", "media before start");
        this.stats.framesIn++;
        this.#timeMedia(message.timestamp);
        if (this.#ready) this.#upstream!.send(appendAudio(message.payload));
        else if (this.#pending.length < MAX_PENDING_FRAMES) this.#pending.push(message.payload);
        else this.#badFrame("twilio", "caller audio buffer full");
        return;
      case "mark":
        return this.#onMark(message.name);
      case "dtmf":
        if (!this.#writer && !this.#starting) return this.#badFrame("twilio", "dtmf before start");
        return this.#onDtmf(message.digit);
      case "start":
        return this.#onStart(message);
      case "connected":
        return this.#log.debug("twilio.connected");
      case "stop":
        this.#log.info("twilio.stop");
        this.#closeUpstream();
        this.#dispose("twilio stop");
        return;
    }
  }

  /**
   * Checks the call's token, then starts the call. A `start` without a valid token closes the
   * stream: nothing it says is believed, no record is opened, no other call is superseded.
   */
  #onStart(start: StartMessage): void {
    if (this.#writer || this.#starting) return this.#badFrame("twilio", "duplicate start");
    this.#starting = true;
    const params = start.customParameters;
    const checked = this.#config.twilio.validateSignature
      ? this.#services.callTokens.verify(params[CALL_TOKEN_PARAMETER], {
        callSid: start.callSid,
        from: params.from ?? "",
        to: params.to ?? "",
        agent: params.agent ?? "",
        reference: params.reference ?? "",
      })
      : Promise.resolve(true);
    checked.then((ok) => {
      if (this.#closed) return;
      if (ok) return this.#begin(start);
      limitHit(this.#services, "call_token", { path: "stream" });
      this.#log.warn("call.token_rejected", { why: "start without a valid call token" });
      this.end("unauthenticated");
    }, (err) => {
      this.#log.error("call.token_check_failed", { error: errorMessage(err) });
      this.end("unauthenticated");
    });
  }

  /** Starts the authenticated call: the upstream session, its limits, record and context. */
  #begin(start: StartMessage): void {
    this.#starting = false;
    this.#connect();
    this.streamSid = start.streamSid;
    this.callSid = start.callSid;
    // A second stream for the same call: the older bridge gives way.
    const older = this.#registry.findBySid(start.callSid, this);
    if (older) {
      this.#log.warn("call.superseded", { older: older.id });
      older.end("superseded");
    }
    const clock = this.#services.clock;
    clock.clearTimeout(this.#limitTimer);
    this.#limitTimer = clock.setTimeout(() => {
      limitHit(this.#services, "max_call_seconds", { callSid: start.callSid });
      this.#pendingEnd = { reason: "max-duration", twiml: sayAndHangUpTwiml(TIME_LIMIT) };
      // The model says the goodbye when it can; otherwise Twilio does, from the TwiML.
      if (this.#say(TIME_LIMIT)) this.#pendingEnd.twiml = hangUpTwiml();
      else this.#checkHeard();
    }, this.#config.limits.maxCallSeconds * 1000);
    this.customParameters = start.customParameters;
    this.#writer = new MediaStreamWriter(start.streamSid);
    this.#log = this.#log.child({ callSid: start.callSid });
    this.#log.info("call.start", { agent: start.customParameters.agent, tracks: start.tracks });
    this.#record = this.#services.records.open({
      id: this.id,
      callSid: start.callSid,
      mode: "realtime",
      agent: start.customParameters.agent ?? "default",
      direction: start.customParameters.direction ?? "inbound",
      from: start.customParameters.from ?? "",
      to: start.customParameters.to ?? "",
      startedAt: this.startedAt,
    });
    resolveCallContext(this.#services, {
      callSid: start.callSid,
      from: start.customParameters.from ?? "",
      to: start.customParameters.to ?? "",
      direction: start.customParameters.direction ?? "inbound",
      mode: "realtime",
      customParameters: start.customParameters,
    }).then((context) => {
      if (this.#closed) return;
      this.context = context;
      this.#instructions = context.instructions;
      this.#silence = new SilenceMonitor(context.profile.silence, this.#services.clock, {
        remind: (text) => void this.#say(text),
        giveUp: (goodbye) => {
          this.#say(goodbye);
          this.#pendingEnd = { reason: "unresponsive", twiml: hangUpTwiml() };
        },
      });
      this.#configure();
    }).catch((err) => {
      this.#log.error("call.setup_failed", { error: errorMessage(err) });
      this.#fail("setup-failed");
    });
  }

  /** Sends `session.update` once both the upstream socket is open and the call's agent known. */
  #configure(): void {
    const ws = this.#upstream;
    const context = this.context;
    if (!ws || ws.readyState !== WebSocket.OPEN || !context || this.#configured === this.#session) {
      return;
    }
    this.#configured = this.#session;
    const { openai } = this.#config;
    const profile = context.profile;
    ws.send(sessionUpdate({
      model: openai.realtimeModel,
      voice: profile.realtimeVoice ?? openai.voice,
      instructions: this.#instructions,
      turnDetection: profile.turnDetection ?? openai.turnDetection,
      transcriptionModel: openai.transcriptionModel,
      tools: context.tools.declarations(),
    }));
    if (this.#session > 1) this.#reseed(ws);
  }

  #toTwilio(message: string): void {
    if (this.#twilio.readyState === WebSocket.OPEN) this.#twilio.send(message);
  }

  /** A mark came back: the audio before it has played, unless it is from a cleared generation. */
  #onMark(name: string): void {
    const head = this.#marks[this.#markHead];
    if (!head || head.name !== name) {
      this.#log.debug("twilio.stale_mark");
      return;
    }
    this.#markHead++;
    // Twilio echoed it when its audio ended; it came late by as much as the media frame before
    // it on the same socket (a congested path or a busy process), and that delay is not playout.
    this.#lastAckAt = Math.max(this.#lastAckAt, performance.now() - this.#twilioQueueMs);
    if (this.#markHead === this.#marks.length) {
      this.#marks = [];
      this.#markHead = 0;
      this.#checkHeard();
    } else if (this.#markHead >= MARKS_COMPACT_AT && this.#markHead * 2 >= this.#marks.length) {
      // Audio that keeps flowing never drains the queue: drop the acknowledged marks so the
      // array stays as long as what is queued, not as long as the call.
      this.#marks.splice(0, this.#markHead);
      this.#markHead = 0;
    }
  }

  /**
   * Learns how late each media frame is against Twilio's own timestamp: Twilio sends one every
   * 20 ms in real time, so the fastest transit seen maps its clock onto ours, and the excess is
   * queueing that the marks behind the frame went through too.
   */
  #timeMedia(timestamp: number): void {
    const transit = performance.now() - timestamp;
    this.#fastestTransit = Math.min(this.#fastestTransit + TRANSIT_DRIFT_PER_FRAME_MS, transit);
    this.#twilioQueueMs = Math.min(transit - this.#fastestTransit, MAX_QUEUE_CORRECTION_MS);
  }

  /**
   * Where Twilio's playout is at `now`: the chunk being heard and how much of its item has been
   * heard, in ms. Everything up to the last echoed mark has played; from then on Twilio plays the
   * queued chunks back to back, none before it was sent. Marks still on their way (a busy socket)
   * therefore do not hold the estimate back, and it never runs past the audio sent.
   */
  #playout(now: number): { mark: PendingMark; heardMs: number } {
    let free = this.#lastAckAt;
    const last = this.#marks.length - 1;
    for (let i = this.#markHead;; i++) {
      const mark = this.#marks[i];
      const start = Math.max(free, mark.sentAt);
      const end = start + mark.durationMs;
      if (now < end || i === last) {
        return {
          mark,
          heardMs: mark.startMs + Math.min(Math.max(0, now - start), mark.durationMs),
        };
      }
      free = end;
    }
  }

  // ---- Upstream side -----------------------------------------------------------------------

  #connect(): void {
    const { openai } = this.#config;
    const url = `${toWebSocketUrl(openai.baseUrl)}/realtime?model=${
      encodeURIComponent(openai.realtimeModel)
    }`;
    const session = ++this.#session;
    this.#expired = false;
    this.stats.upstreamConnects++;
    let ws: NoDelayWebSocket;
    try {
      ws = new NoDelayWebSocket(url, { headers: { Authorization: `Bearer ${openai.apiKey}` } });
    } catch (err) {
      this.#log.error("realtime.connect_failed", { error: errorMessage(err) });
      this.#fail("upstream-refused");
      return;
    }
    this.#upstream = ws;
    const connectTimeoutMs = this.#config.limits.openaiConnectTimeoutMs;
    this.#connectTimer = setTimeout(() => {
      limitHit(this.#services, "openai_connect_timeout", { timeoutMs: connectTimeoutMs });
      this.#fail("upstream-timeout");
    }, connectTimeoutMs);
    ws.addEventListener("open", () => {
      if (this.#closed || session !== this.#session) return;
      this.#configure();
    });
    ws.addEventListener("message", (ev) => {
      if (session === this.#session) this.#onUpstreamFrame(ev.data);
    });
    ws.addEventListener("error", () => {
      if (session === this.#session) this.#log.warn("realtime.socket_error");
    });
    ws.addEventListener("close", (ev) => {
      if (session === this.#session) this.#onUpstreamClose(ev.code, ev.reason);
    });
  }

  /** Gives a new session the conversation so far, as text turns. */
  #reseed(ws: NoDelayWebSocket): void {
    let items = 0;
    for (const entry of this.transcript) {
      let text = entry.text;
      if (entry.interrupted && entry.audioMs) {
        text = text.slice(0, Math.round(text.length * (entry.heardMs ?? 0) / entry.audioMs));
      }
      if (!text.trim()) continue;
      ws.send(createTextItem(entry.role === "caller" ? "user" : "assistant", text));
      items++;
    }
    this.#log.info("realtime.reseeded", { items });
  }

  #onUpstreamClose(code: number, reason: string): void {
    clearTimeout(this.#connectTimer);
    const wasReady = this.#ready;
    this.#upstream = null;
    this.#ready = false;
    if (this.#closed || this.#failing) return;
    if ((code === 1001 || this.#expired) && this.#reconnects < MAX_RECONNECTS) {
      // The session reached its time limit: the call goes on over a new one.
      this.#reconnects++;
      this.#log.info("realtime.reconnect", {
        code,
        expired: this.#expired,
        reconnects: this.#reconnects,
      });
      if (this.#activeResponse) this.#muted.add(this.#activeResponse);
      this.#activeResponse = null;
      this.#connect();
      return;
    }
    this.#log.error("realtime.closed", { code, reason: reason.slice(0, 120), wasReady });
    this.#fail(wasReady ? "upstream-dropped" : "upstream-refused");
  }

  #onUpstreamFrame(data: unknown): void {
    if (this.#closed) return;
    this.#lastUpstreamAt = this.#services.clock.now();
    const parsed = parseServerEvent(data);
    if (!parsed.ok) return this.#badFrame("openai", parsed.error);
    this.#onEvent(parsed.event);
  }

  #onEvent(event: RealtimeServerEvent): void {
    switch (event.type) {
      case "response.output_audio.delta":
        return this.#onAudioDelta(event.responseId, event.itemId, event.delta);
      case "input_audio_buffer.speech_started":
        this.#callerSpeaking = true;
        this.#silence?.callerActive();
        return this.#onSpeechStarted();
      case "response.function_call_arguments.done":
        return this.#onFunctionCall(event.responseId, event.callId, event.name, event.arguments);
      case "input_audio_buffer.speech_stopped":
        this.#callerSpeaking = false;
        this.#vadResponseDue = true;
        this.#lastUpstreamAt = this.#services.clock.now();
        this.#turnRef = Date.now();
        this.#turnRefMono = performance.now();
        this.#entryFor("caller", event.itemId);
        return;
      case "response.created":
        return this.#onResponseCreated(event.responseId);
      case "response.done":
        return this.#onResponseDone(event.responseId, event.status, event.usage);
      case "conversation.item.input_audio_transcription.completed":
      case "response.output_audio_transcript.done": {
        const entry = this.#entryFor(
          event.type === "response.output_audio_transcript.done" ? "agent" : "caller",
          event.itemId,
        );
        entry.text = event.transcript;
        this.#record?.transcript(entry);
        return;
      }
      case "session.updated":
        return this.#onSessionReady();
      case "session.created":
        return this.#log.debug("realtime.session_created");
      case "error":
        return this.#onError(event.errorType, event.code, event.message);
      case "other":
        return;
    }
  }

  #onSessionReady(): void {
    if (this.#ready) return;
    clearTimeout(this.#connectTimer);
    this.#ready = true;
    this.#readyAt = this.#services.clock.now();
    this.#reconnects = 0;
    const ws = this.#upstream!;
    const pending = this.#pending;
    this.#pending = [];
    for (const payload of pending) ws.send(appendAudio(payload));
    this.#log.info("realtime.ready", { flushedFrames: pending.length, session: this.#session });
    this.#maybeGreet();
    if (this.#dtmfDue) this.#flushDtmf();
  }

  #maybeGreet(): void {
    if (this.#greeted || !this.#ready || !this.#writer || !this.context) return;
    this.#greeted = true;
    // The profile's greeting (rendered over the call's data), else one the model makes up.
    if (this.context.profile.greeting) {
      this.#say(this.context.greeting);
      return;
    }
    const greeting = this.#config.realtimeGreeting;
    if (!greeting) return this.#silence?.agentHeard();
    this.#markTurnStart();
    this.#requestResponse(this.#upstream!, this.#asAgent(greeting));
  }

  /** Has the model say `text` (greeting, reminder, goodbye) as its next response; false if it cannot now. */
  #say(text: string): boolean {
    const ws = this.#upstream;
    if (!ws || !this.#ready) return false;
    this.#markTurnStart();
    this.#requestResponse(
      ws,
      this.#asAgent(`Say exactly this to the caller, and nothing else: "${text}"`),
    );
    return true;
  }

  /**
   * Instructions for one response that asks for `line`: a response's own instructions replace
   * the session's for that response, so the agent's (persona, language, rules) come first.
   */
  #asAgent(line: string): string {
    return `${this.#instructions}\n\n${line}`;
  }

  #markTurnStart(): void {
    this.#turnRef = Date.now();
    this.#turnRefMono = performance.now();
  }

  #onError(type: string, code: string, message: string): void {
    if (FATAL_ERROR_CODES.has(code)) {
      this.#log.error("realtime.fatal_error", { type, code, message });
      this.#fail(`openai-${code}`);
      return;
    }
    if (code === "session_expired") {
      // The server closes next (1001 "going away"); the close handler reconnects.
      this.#expired = true;
      this.#log.info("realtime.session_expired");
      return;
    }
    if (code === "conversation_already_has_active_response" && this.#requested > 0) {
      this.#requested--;
    }
    this.#log.warn("realtime.error", { type, code, message });
  }

  // ---- Responses and audio out -------------------------------------------------------------

  #requestResponse(ws: NoDelayWebSocket, instructions?: string): void {
    if (this.#requested === 0 && !this.#activeResponse) {
      this.#lastUpstreamAt = this.#services.clock.now();
    }
    this.#requested++;
    ws.send(createResponse(instructions));
  }

  #onResponseCreated(responseId: string): void {
    this.#vadResponseDue = false;
    this.#silence?.agentSpeaking();
    if (this.#requested > 0) this.#requested--;
    if (this.#cancelledRequests > 0) {
      this.#cancelledRequests--;
      this.#muted.add(responseId);
    } else {
      this.#activeResponse = responseId;
    }
    const turn: RealtimeTurn = {
      responseId,
      startedAt: Date.now(),
      latencyMs: null,
      status: null,
      usage: null,
    };
    this.turns.push(turn);
    this.#turn = turn;
  }

  #onResponseDone(responseId: string, status: string, usage: Usage | null): void {
    if (this.#activeResponse === responseId) this.#activeResponse = null;
    this.#muted.delete(responseId);
    const turn = this.turns.findLast((t) => t.responseId === responseId);
    if (turn) {
      turn.status = status;
      turn.usage = usage;
      this.#record?.latency({
        latencyMs: turn.latencyMs === null ? null : Math.round(turn.latencyMs),
        inputTokens: usage?.inputTokens ?? 0,
        outputTokens: usage?.outputTokens ?? 0,
        outcome: status,
        at: turn.startedAt,
      });
    }
    if (this.#turn === turn) this.#turn = null;
    const runs = this.#toolRuns.get(responseId);
    if (runs) {
      this.#toolRuns.delete(responseId);
      this.#answerTools(runs, status === "completed");
    } else {
      this.#checkHeard();
    }
  }

  // ---- Tools -------------------------------------------------------------------------------

  /** The model called a function: run it now; its output goes back when the response is done. */
  #onFunctionCall(responseId: string, callId: string, name: string, args: string): void {
    const context = this.context;
    if (!context) return this.#badFrame("openai", "function call before the call started");
    const run = context.tools.call(name, args, {
      call: { ...context.call, callSid: this.callSid ?? context.call.callSid },
      profile: context.profile,
      controls: this.#controls,
      sms: this.#sms,
      handoffNumber: this.#config.handoffNumber,
      signal: this.#toolSignal.signal,
      log: this.#log,
    }).then((result) => {
      this.toolEvents.push({ at: Date.now(), arguments: args, ...result });
      this.#log.info("tool.called", { tool: name, ok: result.ok, ms: result.durationMs });
      this.#record?.event("tool", `${name} ${result.ok ? "answered" : "failed"}`, {
        name,
        arguments: args.slice(0, 2000),
        ok: result.ok,
        output: result.output.slice(0, 2000),
        durationMs: result.durationMs,
      });
      return { callId, output: result.output };
    });
    const runs = this.#toolRuns.get(responseId) ?? [];
    runs.push(run);
    this.#toolRuns.set(responseId, runs);
  }

  /** Gives the model every output of a response's calls, then lets it answer. */
  async #answerTools(
    runs: Promise<{ callId: string; output: string }>[],
    respond: boolean,
  ): Promise<void> {
    const outputs = await Promise.all(runs);
    const ws = this.#upstream;
    if (this.#closed || !ws || !this.#ready) return;
    for (const { callId, output } of outputs) ws.send(functionCallOutput(callId, output));
    if (respond && !this.#activeResponse && this.#requested === 0) {
      this.#markTurnStart();
      this.#requestResponse(ws);
    } else {
      this.#checkHeard();
    }
  }

  /** Aborted when the call ends, so running tools stop with it. */
  readonly #toolSignal = new AbortController();

  /** What tools do to a realtime call: through the stream and the REST API. */
  readonly #controls: CallControls = {
    endCall: () => {
      this.#pendingEnd = { reason: "agent-ended", twiml: hangUpTwiml() };
    },
    transferToHuman: ({ number }) => {
      if (!number) throw new Error("no number to transfer to");
      this.#pendingEnd = { reason: "live-agent-handoff", twiml: dialTwiml(number) };
    },
    sendDigits: (digits) => {
      const writer = this.#writer;
      if (!writer) throw new Error("the stream has not started");
      const audio = dtmfMulaw(digits);
      for (let i = 0; i < audio.length; i += CHUNK_BYTES) {
        const frame = audio.subarray(i, i + CHUNK_BYTES);
        this.#toTwilio(writer.media(btoa(String.fromCharCode(...frame))));
      }
    },
    switchLanguage: (language) => {
      const ws = this.#upstream;
      if (!ws || !this.context) throw new Error("the model is not connected");
      this.#instructions =
        `${this.context.instructions}\n\nFrom now on, speak ${language}, and expect the caller to speak ${language}.`;
      ws.send(sessionInstructions(this.#instructions));
    },
  };

  /**
   * Called whenever playout or responses settle: once nothing is playing, in progress or
   * pending, the agent's turn has been heard — end the call if a tool asked to, else the
   * caller's silence starts counting.
   */
  #checkHeard(): void {
    if (
      this.#closed || this.playing || this.#activeResponse || this.#requested > 0 ||
      this.#toolRuns.size > 0
    ) return;
    const pending = this.#pendingEnd;
    if (!pending) return this.#silence?.agentHeard();
    this.#pendingEnd = null;
    this.endReason ??= pending.reason;
    if (pending.reason === "live-agent-handoff") {
      this.#record?.event("handoff", "handed off to a person");
    }
    this.#log.info("call.end", { reason: pending.reason });
    this.#silence?.stop();
    this.#closeUpstream();
    void this.#leaveStream(pending);
  }

  #onAudioDelta(responseId: string, itemId: string, delta: string): void {
    if (this.#muted.has(responseId) || !this.#writer) {
      this.stats.droppedDeltas++;
      return;
    }
    let item = this.#out;
    if (!item || item.itemId !== itemId) {
      const entry = this.#entryFor("agent", itemId);
      item = { itemId, responseId, bytes: 0, entry };
      this.#out = item;
    }
    const turn = this.#turn;
    if (turn && turn.latencyMs === null && turn.responseId === responseId) {
      turn.latencyMs = this.#turnRef === null
        ? null
        : Math.round((performance.now() - this.#turnRefMono) * 10) / 10;
      this.#turnRef = null;
    }
    if (base64ByteLength(delta) <= CHUNK_BYTES) {
      this.#sendChunk(item, delta);
      return;
    }
    // Equal chunks cut on 4-character boundaries stay valid base64 without decoding.
    const groups = delta.length / 4;
    const chars = Math.ceil(groups / Math.ceil(groups / MAX_CHUNK_GROUPS)) * 4;
    for (let i = 0; i < delta.length; i += chars) {
      this.#sendChunk(item, delta.substring(i, i + chars));
    }
  }

  /** One chunk of assistant audio to Twilio, followed by its mark. */
  #sendChunk(item: OutItem, payload: string): void {
    const writer = this.#writer!;
    const startMs = item.bytes / MULAW_BYTES_PER_MS;
    item.bytes += base64ByteLength(payload);
    const endMs = item.bytes / MULAW_BYTES_PER_MS;
    item.entry.audioMs = endMs;
    const name = `${this.#generation}:${item.itemId}:${endMs}`;
    this.#toTwilio(writer.media(payload));
    this.#toTwilio(writer.mark(name));
    this.stats.framesOut++;
    this.#marks.push({
      name,
      itemId: item.itemId,
      session: this.#session,
      startMs,
      durationMs: endMs - startMs,
      sentAt: performance.now(),
    });
  }

  // ---- Barge-in ----------------------------------------------------------------------------

  #onSpeechStarted(): void {
    // The server cancels an in-progress response itself (interrupt_response): drop what is late.
    if (this.#activeResponse) this.#muted.add(this.#activeResponse);
    if (this.playing) this.#interrupt("speech");
  }

  /**
   * Stops the audio Twilio is playing and truncates the item being heard to what was heard.
   * Only called while something is playing.
   */
  #interrupt(cause: string): void {
    // The playout never runs past a chunk sent, so this is within the audio received for the item.
    const { mark: playing, heardMs } = this.#playout(performance.now());
    this.#toTwilio(this.#writer!.clear());
    this.#generation++;
    this.#marks = [];
    this.#markHead = 0;
    this.#lastAckAt = -Infinity;
    this.stats.bargeIns++;
    const audioEndMs = Math.max(0, Math.floor(heardMs));
    const out = this.#out;
    if (out?.itemId === playing.itemId) this.#muted.add(out.responseId);
    const entry = this.transcript.findLast((e) => e.itemId === playing.itemId);
    if (entry) {
      entry.interrupted = true;
      entry.heardMs = audioEndMs;
    }
    if (playing.session === this.#session && this.#ready) {
      this.#upstream!.send(truncateItem(playing.itemId, audioEndMs));
      this.stats.truncates++;
    }
    this.#log.info("realtime.barge_in", { cause, audioEndMs });
    if (entry) this.#record?.transcript(entry);
    this.#record?.event("barge_in", `caller cut in after ${audioEndMs} ms of audio`, {
      cause,
      audioEndMs,
    });
  }

  // ---- DTMF --------------------------------------------------------------------------------

  #onDtmf(digit: string): void {
    this.#silence?.callerActive();
    this.#dtmf += digit;
    const clock = this.#services.clock;
    clock.clearTimeout(this.#dtmfTimer);
    if (digit === "#" || this.#dtmf.length >= MAX_DTMF_DIGITS) return this.#flushDtmf();
    this.#dtmfTimer = clock.setTimeout(() => this.#flushDtmf(), this.#config.relay.dtmfDebounceMs);
  }

  /** Gives the buffered key presses to the model as one caller turn, and asks for an answer. */
  #flushDtmf(): void {
    this.#services.clock.clearTimeout(this.#dtmfTimer);
    if (!this.#dtmf || this.#closed) return;
    if (!this.#ready) {
      this.#dtmfDue = true;
      return;
    }
    this.#dtmfDue = false;
    const keys = this.#dtmf;
    this.#dtmf = "";
    const ws = this.#upstream!;
    if (this.playing) this.#interrupt("dtmf");
    if (this.#activeResponse || this.#requested > 0) {
      // One is in progress (or on its way): cancel it so the new one is accepted.
      if (this.#activeResponse) this.#muted.add(this.#activeResponse);
      ws.send(cancelResponse());
      this.#activeResponse = null;
      this.#cancelledRequests = this.#requested;
    }
    const text = `[The caller pressed the keys: ${keys.split("").join(" ")}]`;
    const entry = { role: "caller" as const, text, at: Date.now() };
    this.transcript.push(entry);
    this.#record?.transcript(entry);
    this.#log.info("realtime.dtmf", { digits: keys.length });
    this.#record?.event("dtmf", `${keys.length} key${keys.length > 1 ? "s" : ""} pressed`);
    this.#markTurnStart();
    ws.send(createTextItem("user", text));
    this.#requestResponse(ws);
  }

  // ---- Bookkeeping -------------------------------------------------------------------------

  /** The transcript entry of `itemId`, created (in conversation order) on first sight. */
  #entryFor(role: "caller" | "agent", itemId: string): RealtimeTranscriptEntry {
    const existing = itemId ? this.transcript.findLast((e) => e.itemId === itemId) : undefined;
    if (existing) return existing;
    const entry: RealtimeTranscriptEntry = { role, text: "", at: Date.now(), itemId };
    this.transcript.push(entry);
    return entry;
  }

  #badFrame(source: "twilio" | "openai", error: string): void {
    const count = ++this.stats.badFrames;
    if (count <= MAX_LOGGED_BAD_FRAMES || count % 1000 === 0) {
      this.#log.warn("realtime.frame_dropped", { source, error, count });
    }
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
    clearTimeout(this.#connectTimer);
    this.#closeUpstream();
    void this.#leaveStream({
      reason: this.endReason,
      twiml: sayAndHangUpTwiml(this.#config.realtimeFallback),
    });
  }

  /**
   * Takes the call off the stream with `ending.twiml` next: stored for the `<Connect action>`
   * request first (so it is there whichever instance Twilio asks), then, with REST
   * credentials, put in place at once; the stream is closed last.
   */
  async #leaveStream(ending: StreamEnding): Promise<void> {
    const callSid = this.callSid;
    if (callSid) {
      await this.#endings.record(callSid, ending).catch((err) =>
        this.#log.warn("call.ending_not_stored", { error: errorMessage(err) })
      );
      const redirect = this.#redirect;
      if (redirect) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          redirect(callSid, ending.twiml),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no answer within ${REDIRECT_TIMEOUT_MS} ms`)),
              REDIRECT_TIMEOUT_MS,
            );
          }),
        ]).then(
          () => this.#log.info("call.redirected", { to: ending.reason }),
          (err) => this.#log.warn("call.redirect_failed", { error: errorMessage(err) }),
        ).finally(() => clearTimeout(timer));
      }
    }
    this.#closeTwilio();
  }

  #closeUpstream(): void {
    clearTimeout(this.#connectTimer);
    const ws = this.#upstream;
    this.#upstream = null;
    this.#ready = false;
    this.#session++; // events of the old socket are ignored from now on
    if (ws && ws.readyState !== WebSocket.CLOSED && ws.readyState !== WebSocket.CLOSING) {
      ws.close(1000);
    }
  }

  #closeTwilio(): void {
    const socket = this.#twilio;
    if (socket.readyState === WebSocket.OPEN) socket.close(1000);
    else if (socket.readyState === WebSocket.CONNECTING) {
      // Not upgraded yet (the upgrade response is still being sent): close once it is.
      socket.addEventListener("open", () => socket.close(1000));
    }
  }

  /**
   * Once a second: a Twilio socket silent for `TWILIO_IDLE_TIMEOUT_SECONDS` is dead (Twilio sends
   * audio 50 times a second, even in silence); an OpenAI socket that owes a response and sends
   * nothing for `OPENAI_TIMEOUT_MS` has stalled — both fail over so the caller hears the fallback.
   */
  #armWatchdog(): void {
    const clock = this.#services.clock;
    this.#watchdog = clock.setTimeout(() => {
      if (this.#closed) return;
      const now = clock.now();
      const { limits, openai } = this.#config;
      if (now - this.#lastTwilioAt > limits.idleTimeoutSeconds * 1000) {
        limitHit(this.#services, "idle_timeout", { callSid: this.callSid ?? undefined });
        return this.end("idle-timeout");
      }
      const owed = this.#requested > 0 || this.#activeResponse !== null || this.#vadResponseDue;
      if (this.#ready && owed && now - this.#lastUpstreamAt > openai.timeoutMs) {
        this.#log.error("realtime.stalled", { silentMs: now - this.#lastUpstreamAt });
        return this.#fail("upstream-stalled");
      }
      const renewAfter = (openai.realtimeSessionSeconds - openai.realtimeRenewSeconds) * 1000;
      if (this.#ready && now - this.#readyAt >= renewAfter && this.#quiet(owed)) this.#renew();
      this.#armWatchdog();
    }, 1000);
  }

  /** Nobody speaks and nothing is due: a moment to change sessions without cutting a sentence. */
  #quiet(owed: boolean): boolean {
    return !owed && !this.#callerSpeaking && !this.playing && this.#toolRuns.size === 0 &&
      !this.#pendingEnd && !this.#dtmf;
  }

  /**
   * Replaces the upstream session before it reaches its time limit: the new one is configured
   * and re-seeded with the conversation, and the caller's audio meanwhile is kept and flushed
   * into it (as after an expiry), so nothing said is lost.
   */
  #renew(): void {
    this.stats.renewals++;
    this.#log.info("realtime.renew", {
      sessionSeconds: Math.round((this.#services.clock.now() - this.#readyAt) / 1000),
    });
    this.#closeUpstream();
    this.#connect();
  }

  #dispose(cause: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#services.clock.clearTimeout(this.#dtmfTimer);
    this.#services.clock.clearTimeout(this.#watchdog);
    this.#services.clock.clearTimeout(this.#limitTimer);
    this.#silence?.stop();
    this.#toolSignal.abort();
    this.#closeUpstream();
    this.#pending = [];
    this.#registry.remove(this);
    this.#record?.frames(this.stats.framesIn, this.stats.framesOut);
    this.#record?.end(this.endReason ?? "caller-hangup");
    this.#log.info("call.closed", {
      cause,
      reason: this.endReason ?? "caller-hangup",
      turns: this.turns.length,
      framesIn: this.stats.framesIn,
      framesOut: this.stats.framesOut,
      bargeIns: this.stats.bargeIns,
      badFrames: this.stats.badFrames,
    });
  }
}

/** Error codes after which the session cannot go on. */
const FATAL_ERROR_CODES = new Set([
  "invalid_api_key",
  "insufficient_quota",
  "model_not_found",
]);
