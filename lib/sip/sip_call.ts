/**
 * One accepted SIP call, watched and steered over its sideband: `/v1/live/sessions/{id}/attach`
 * (GPT-Live) or `/v1/realtime?call_id=…` (Realtime). The audio goes between Twilio and OpenAI;
 * only control events pass through here. The call is in the registry (capacity, the dashboard,
 * `/metrics`), has its record (transcript, latency, usage, tools), greets the caller under the
 * agent's instructions, gives it the caller's key presses, runs its tools from the same registry —
 * `end_call` hangs up and `transfer_to_human` refers the call to the hand-off number, each once the
 * goodbye has been said (`sip_goodbye.ts`: no more agent audio for 1.5 s) — and reopens a sideband
 * that drops; if that fails, the call is hung up and recorded as failed.
 *
 * @module
 */

import type OpenAI from "openai";
import type { ToolContext } from "../agents/tools.ts";
import type { CallContext } from "../calls/call_context.ts";
import type { CallRegistry, LiveCall } from "../calls/call_registry.ts";
import type { ToolEvent, TranscriptEntry } from "../calls/call_types.ts";
import type { Clock, TimerId } from "../platform/clock.ts";
import { errorMessage, type Logger } from "../platform/log.ts";
import { toWebSocketUrl } from "../platform/public_url.ts";
import { NoDelayWebSocket } from "../platform/ws_client.ts";
import {
  commentary,
  continueResponse,
  liveFunctionOutput,
  parseLiveEvent,
} from "../protocols/openai_live.ts";
import {
  cancelResponse,
  createResponse,
  createTextItem,
  functionCallOutput,
  parseServerEvent,
} from "../protocols/openai_realtime.ts";
import { DtmfBuffer, dtmfSummary, dtmfTurn } from "../calls/dtmf_buffer.ts";
import type { CallRecorder, CallRecords } from "../records/call_recorder.ts";
import { CallTranscript } from "../realtime/call_transcript.ts";
import { ToolRuns } from "../realtime/realtime_tools.ts";
import { ResponseSequencer } from "../realtime/response_sequencer.ts";
import { sipControls } from "./sip_controls.ts";
import { type PendingEnd, PendingGoodbye } from "./sip_goodbye.ts";

/** Sideband reopenings tried, one after another, before the call is recorded as failed. */
export const MAX_REOPENS = 2;
const REOPEN_DELAY_MS = 250;

/** What a SIP call uses of the service. */
export interface SipCallDeps {
  client: OpenAI;
  openai: { baseUrl: string; apiKey: string };
  clock: Clock;
  log: Logger;
  registry: CallRegistry;
  records: CallRecords;
  handoffNumber: string | null;
  /** What the model is asked to say first when the agent has no greeting. */
  realtimeGreeting: string;
  /** Key presses this close together are given to the agent as one turn. */
  dtmfDebounceMs: number;
}

/** One accepted SIP call. */
export class SipCall implements LiveCall {
  readonly mode = "sip" as const;
  readonly id = crypto.randomUUID();
  readonly startedAt: number;
  callSid: string | null;
  endReason: string | null = null;
  readonly toolEvents: ToolEvent[] = [];
  /** Sidebands opened (the first and each reopening). */
  opens = 0;
  readonly transcript: CallTranscript;
  readonly #record: CallRecorder;
  readonly #tools: ToolRuns;
  readonly #log: Logger;
  readonly #signal = new AbortController();
  #ws: NoDelayWebSocket | null = null;
  #reopens = 0;
  #closed = false;
  /** A hang-up or refer is on its way: the sideband's close that follows is not a drop. */
  #ending = false;
  #reopenTimer: TimerId | undefined;
  #greeted = false;
  #line: { role: "caller" | "agent"; entry: TranscriptEntry } | null = null;
  /**
   * When the agent was last asked for an answer (the greeting, the caller's words or the end of
   * their speech, key presses), while no agent audio has come since: null once it has.
   */
  #askedAt: number | null = null;
  readonly #goodbye: PendingGoodbye;
  #audioSeconds = 0;
  readonly #dtmf: DtmfBuffer;
  /** Key presses fell due while no sideband was open: they go once one is. */
  #dtmfDue = false;
  /** Realtime: the response in progress or asked for (one runs at a time; more are refused). */
  readonly #responses = new ResponseSequencer();

  constructor(
    private readonly deps: SipCallDeps,
    readonly surface: "live" | "realtime",
    /** The session (Live) or call (Realtime) id OpenAI gave the call. */
    readonly sipId: string,
    readonly context: CallContext,
  ) {
    const { clock } = deps;
    this.startedAt = clock.now();
    this.callSid = context.call.callSid || null;
    this.#goodbye = new PendingGoodbye(clock, (end) => void this.#carryOut(end));
    this.#dtmf = new DtmfBuffer(clock, deps.dtmfDebounceMs, () => this.#pressed());
    this.#log = deps.log.child({ sessionId: this.id, mode: "sip", surface });
    this.#record = deps.records.open({
      id: this.id,
      callSid: context.call.callSid,
      from: context.call.from,
      to: context.call.to,
      direction: context.call.direction,
      mode: "sip",
      agent: context.profile.name,
      startedAt: this.startedAt,
    });
    this.transcript = new CallTranscript(clock, () => this.#record);
    this.#tools = new ToolRuns({
      clock,
      tools: () => context.tools,
      context: () => this.#toolContext(),
      sinks: () => ({ log: this.#log, record: this.#record }),
      ran: (event) => this.toolEvents.push(event),
    });
    deps.registry.add(this);
    this.#open();
  }

  /** Ends the call from the service side (drain, admin): OpenAI hangs up (once). */
  end(reason: string): void {
    if (this.#closed || this.#ending) return;
    this.endReason ??= reason;
    void this.#hangup();
  }

  #open(): void {
    const { deps } = this;
    const base = toWebSocketUrl(deps.openai.baseUrl);
    const url = this.surface === "live"
      ? `${base}/live/sessions/${encodeURIComponent(this.sipId)}/attach`
      : `${base}/realtime?call_id=${encodeURIComponent(this.sipId)}`;
    this.opens++;
    let ws: NoDelayWebSocket;
    try {
      ws = new NoDelayWebSocket(url, {
        headers: { Authorization: `Bearer ${deps.openai.apiKey}` },
      });
    } catch (err) {
      this.#log.error("sip.sideband_failed", { error: errorMessage(err) });
      return this.#dropped();
    }
    this.#ws = ws;
    ws.addEventListener("open", () => {
      this.#reopens = 0;
      this.#log.info("sip.sideband_open", { opens: this.opens });
      this.#greet();
      if (this.#dtmfDue) this.#pressed();
    });
    ws.addEventListener("message", (ev) => {
      if (this.#ws === ws) this.#onFrame(ev.data);
    });
    ws.addEventListener("close", (ev) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      if (this.#closed || this.#ending) return;
      // Realtime closes the sideband with 1000 when the call is over; anything else is a drop.
      if (this.surface === "realtime" && ev.code === 1000) return this.#finish("caller-hangup");
      this.#log.warn("sip.sideband_dropped", { code: ev.code });
      this.#dropped();
    });
  }

  #dropped(): void {
    if (this.#closed) return;
    if (this.#reopens >= MAX_REOPENS) {
      this.#record.event("error", "the sideband dropped and could not be reopened");
      // Hung up: with no sideband no one runs its tools or ends it, and its line looks free.
      this.endReason ??= "sideband-failed";
      return void this.#hangup();
    }
    this.#reopens++;
    this.#reopenTimer = this.deps.clock.setTimeout(() => {
      if (!this.#closed) this.#open();
    }, REOPEN_DELAY_MS * this.#reopens);
  }

  /** Sends `frame` on the open sideband; false when none is open (it is dropped). */
  #send(frame: string): boolean {
    if (this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(frame);
    return true;
  }

  /** Realtime: asks for a response (`instructions` for this one only), counted as on its way. */
  #respond(instructions?: string): void {
    if (this.#send(createResponse(instructions))) this.#responses.request();
  }

  /** The greeting, under the agent's instructions (once per call, not per sideband). */
  #greet(): void {
    if (this.#greeted) return;
    this.#greeted = true;
    const { profile, greeting, instructions } = this.context;
    const line = profile.greeting
      ? `Say exactly this to the caller, and nothing else: "${greeting}"`
      : this.deps.realtimeGreeting;
    if (!line) return;
    this.#askedAt = this.deps.clock.monotonic();
    if (this.surface === "live") this.#send(commentary(line));
    else this.#respond(`${instructions}\n\n${line}`);
  }

  #onFrame(data: unknown): void {
    if (this.surface === "live") this.#onLive(data);
    else this.#onRealtime(data);
  }

  #onLive(data: unknown): void {
    const parsed = parseLiveEvent(data);
    if (!parsed.ok) return this.#log.debug("sip.bad_frame", { error: parsed.error });
    const event = parsed.message;
    switch (event.type) {
      case "session.input_transcript.delta":
        return this.#say("caller", event.delta);
      case "transport.dtmf.received":
        return this.#dtmf.press(event.key);
      case "session.output_transcript.delta":
        return this.#say("agent", event.delta);
      case "session.output_audio.delta":
        return this.#agentAudio();
      case "response.event": {
        const id = event.delegationId ?? "";
        const e = event.event;
        if (e.kind === "function_call") {
          this.#tools.run({ responseId: id, ...e });
        } else if (e.kind === "done") {
          if (e.usage) this.#usage(e.usage.inputTokens, e.usage.outputTokens, e.status);
          this.#answerTools(
            id,
            (callId, output) => liveFunctionOutput(callId, output),
            () => this.#send(continueResponse()),
          );
        }
        return;
      }
      case "session.usage.updated":
        this.#audioSeconds = event.seconds;
        return;
      case "session.closed":
        this.#audioSeconds = event.seconds || this.#audioSeconds;
        return this.#finish(event.reason === "remote_hangup" ? "caller-hangup" : event.reason);
      case "error":
        return this.#log.warn("sip.error", { code: event.code, message: event.message });
      default:
        return;
    }
  }

  #onRealtime(data: unknown): void {
    const parsed = parseServerEvent(data);
    if (!parsed.ok) return this.#log.debug("sip.bad_frame", { error: parsed.error });
    const event = parsed.message;
    switch (event.type) {
      case "input_audio_buffer.speech_stopped":
        this.#askedAt = this.deps.clock.monotonic();
        return;
      case "input_audio_buffer.dtmf_event_received":
        return this.#dtmf.press(event.key);
      case "conversation.item.input_audio_transcription.completed":
        this.#line = null;
        return this.#say("caller", event.transcript);
      case "response.output_audio_transcript.done":
        this.#line = null;
        return this.#say("agent", event.transcript);
      case "response.output_audio.delta":
        return this.#agentAudio();
      case "response.function_call_arguments.done":
        this.#tools.run(event);
        return;
      case "response.created":
        this.#responses.created(event.responseId, this.deps.clock.now());
        return;
      case "response.done":
        this.#responses.done(event.responseId, event.status, event.usage);
        if (event.usage) {
          this.#usage(event.usage.inputTokens, event.usage.outputTokens, event.status);
        }
        this.#answerTools(event.responseId, functionCallOutput, () => this.#respond());
        return;
      case "error":
        if (event.code === "conversation_already_has_active_response") {
          this.#responses.requestRefused();
        }
        return this.#log.warn("sip.error", { code: event.code, message: event.message });
      default:
        return;
    }
  }

  /** The caller's key presses, as one turn (OpenAI tells only the sideband of them). */
  #pressed(): void {
    if (this.#closed || !this.#dtmf.pending) return;
    // The sideband is reopening: the keys wait for it (sent now, they would be lost).
    this.#dtmfDue = this.#ws?.readyState !== WebSocket.OPEN;
    if (this.#dtmfDue) return;
    const keys = this.#dtmf.take();
    const text = dtmfTurn(keys);
    this.#line = null;
    this.transcript.add("caller", text);
    this.#askedAt = this.deps.clock.monotonic();
    this.#record.event("dtmf", dtmfSummary(keys));
    if (this.surface === "live") this.#send(commentary(text));
    else {
      // One is in progress (or on its way): cancel it, or the new one would be refused.
      if (this.#responses.cancel()) this.#send(cancelResponse());
      this.#send(createTextItem("user", text));
      this.#respond();
    }
  }

  /** A transcript fragment: the same line grows until the other side speaks. */
  #say(role: "caller" | "agent", text: string): void {
    if (role === "caller") this.#askedAt = this.deps.clock.monotonic();
    if (this.#line?.role !== role) {
      this.#line = { role, entry: this.transcript.add(role, "") };
    }
    this.#line.entry.text += text;
    this.transcript.save(this.#line.entry);
  }

  /** The agent's audio went out: its latency, and the goodbye's end pushed back. */
  #agentAudio(): void {
    const askedAt = this.#askedAt;
    if (askedAt !== null) {
      this.#askedAt = null;
      const latencyMs = Math.round(this.deps.clock.monotonic() - askedAt);
      this.#record.latency({ latencyMs, inputTokens: 0, outputTokens: 0, outcome: "completed" });
    }
    this.#goodbye.agentAudio();
  }

  #usage(inputTokens: number, outputTokens: number, status: string): void {
    this.#record.latency({ latencyMs: null, inputTokens, outputTokens, outcome: status || "done" });
  }

  /** Gives the model a response's (or delegation's) tool outputs, then lets it go on. */
  #answerTools(
    id: string,
    output: (callId: string, output: string) => string,
    next: () => void,
  ): void {
    const outputs = this.#tools.take(id);
    if (!outputs) return;
    void outputs.then((answered) => {
      if (this.#closed) return;
      for (const o of answered) this.#send(output(o.callId, o.output));
      next();
      // The goodbye came with the tool call (the agent spoke since it was asked: its pause ends
      // the call), or is asked for now: the end then waits for it to begin.
      this.#goodbye.outputsIn(this.#askedAt !== null);
    });
  }

  /** The goodbye has been said: the call is hung up or referred. */
  async #carryOut(pending: PendingEnd): Promise<void> {
    if (this.#closed) return;
    this.endReason ??= pending.reason;
    this.#ending = true;
    if (pending.reason === "live-agent-handoff") {
      const target = `tel:${pending.number}`;
      try {
        if (this.surface === "live") {
          await this.deps.client.live.sessions.refer(this.sipId, { target_uri: target });
        } else await this.deps.client.realtime.calls.refer(this.sipId, { target_uri: target });
        this.#record.event("handoff", "handed off to a person");
        this.#log.info("sip.referred");
        return this.#finish(pending.reason);
      } catch (err) {
        this.#log.error("sip.refer_failed", { error: errorMessage(err) });
      }
    }
    await this.#hangup();
  }

  async #hangup(): Promise<void> {
    this.#ending = true;
    try {
      if (this.surface === "live") await this.deps.client.live.sessions.hangup(this.sipId);
      else await this.deps.client.realtime.calls.hangup(this.sipId);
      this.#log.info("sip.hung_up", { reason: this.endReason });
    } catch (err) {
      this.#log.error("sip.hangup_failed", { error: errorMessage(err) });
    }
    this.#finish(this.endReason ?? "agent-ended");
  }

  /** The call is over: the record ends, the sideband closes, the registry forgets it. */
  #finish(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.endReason ??= reason;
    this.#goodbye.stop();
    this.deps.clock.clearTimeout(this.#reopenTimer);
    this.#dtmf.stop();
    this.#signal.abort();
    const ws = this.#ws;
    this.#ws = null;
    // A sideband still connecting is closed too (it would linger until OpenAI closed it).
    if (ws && ws.readyState !== WebSocket.CLOSED && ws.readyState !== WebSocket.CLOSING) {
      ws.close(1000);
    }
    if (this.surface === "live" && this.context.profile.record) {
      // Accepted with `store: true`: OpenAI holds the recording (`downloadRecording`).
      const now = this.deps.clock.now();
      this.#record.setRecording({
        source: "openai",
        sid: this.sipId,
        status: "completed",
        durationSeconds: Math.round((now - this.startedAt) / 1000),
        channels: null,
        updatedAt: now,
      });
    }
    if (this.#audioSeconds > 0) {
      this.#record.event("status", `GPT-Live audio: ${this.#audioSeconds} s`, {
        liveAudioSeconds: this.#audioSeconds,
      });
    }
    this.deps.registry.remove(this);
    void this.#record.end(this.endReason);
    this.#log.info("call.closed", { reason: this.endReason, opens: this.opens });
  }

  #toolContext(): ToolContext {
    const context = this.context;
    return {
      call: context.call,
      profile: context.profile,
      controls: sipControls({
        surface: this.surface,
        clock: this.deps.clock,
        signal: this.#signal.signal,
        send: (frame) => this.#send(frame),
        endAfterGoodbye: (end) => this.#goodbye.set(end),
      }),
      sms: null,
      handoffNumber: this.deps.handoffNumber,
      signal: this.#signal.signal,
      log: this.#log,
    };
  }
}
