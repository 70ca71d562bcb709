/**
 * The OpenAI GPT-Live side of one call: the primary WebSocket to `/v1/live/sessions` (with
 * TCP_NODELAY, no query: the model is in `session.start`), the caller's audio held until
 * `session.started`, and parsed events out. A Live session is not renewed or re-seeded: when it
 * closes the call cannot go on. What to start with and what the events mean is the call's
 * business; this module only keeps the connection.
 *
 * @module
 */

import type { Clock, TimerId } from "../platform/clock.ts";
import { errorMessage, type Logger } from "../platform/log.ts";
import { toWebSocketUrl } from "../platform/public_url.ts";
import { NoDelayWebSocket } from "../platform/ws_client.ts";
import {
  appendLiveAudio,
  closeSession,
  type LiveServerEvent,
  parseLiveEvent,
} from "../protocols/openai_live.ts";
import type { UpstreamFailure } from "./upstream_session.ts";
import { HeldAudio } from "./held_audio.ts";

/** What the session tells its call. */
export interface LiveSessionEvents {
  /** The socket is open and wants its `session.start` (null until the call's agent is known). */
  configure(): string | null;
  /** `session.started`: `flushed` frames of held caller audio went in. */
  ready(flushed: number): void;
  event(event: LiveServerEvent): void;
  bad(error: string): void;
  failed(reason: UpstreamFailure): void;
}

/** Options of {@link LiveSession}. */
export interface LiveSessionOptions {
  /** The OpenAI API base URL (`https://…/v1`). */
  baseUrl: string;
  apiKey: string;
  connectTimeoutMs: number;
  clock: Clock;
  log(): Logger;
  onConnectTimeout(): void;
}

/** The Live connection of one call. */
export class LiveSession {
  /** Always 1: a Live call has one session (the stream's items are tagged with it). */
  readonly session = 1;
  /** Clock time of the last frame from OpenAI (the stall watchdog reads it). */
  lastEventAt: number;
  /** Clock time the session started. */
  readyAt = 0;
  /** The server's id of the session (for a sideband, a fork, a recording), once started. */
  sessionId: string | null = null;

  #ws: NoDelayWebSocket | null = null;
  #ready = false;
  #started = false;
  readonly #held = new HeldAudio();
  #connectTimer: TimerId | undefined;
  #closed = false;

  constructor(
    private readonly options: LiveSessionOptions,
    private readonly events: LiveSessionEvents,
  ) {
    this.lastEventAt = options.clock.now();
  }

  /** `session.started` arrived: audio and commands flow. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Opens the session's socket. */
  connect(): void {
    if (this.#closed || this.#ws) return;
    const { options } = this;
    let ws: NoDelayWebSocket;
    try {
      ws = new NoDelayWebSocket(`${toWebSocketUrl(options.baseUrl)}/live/sessions`, {
        headers: { Authorization: `Bearer ${options.apiKey}` },
      });
    } catch (err) {
      options.log().error("live.connect_failed", { error: errorMessage(err) });
      return this.events.failed("upstream-refused");
    }
    this.#ws = ws;
    this.#connectTimer = options.clock.setTimeout(() => {
      options.onConnectTimeout();
      this.close();
      this.events.failed("upstream-timeout");
    }, options.connectTimeoutMs);
    ws.addEventListener("open", () => this.configure());
    ws.addEventListener("message", (ev) => {
      if (!this.#closed) this.#onFrame(ev.data);
    });
    ws.addEventListener("error", () => options.log().warn("live.socket_error"));
    ws.addEventListener("close", (ev) => this.#onClose(ev.code, ev.reason));
  }

  /** Sends `session.start` once, as soon as the socket is open and the call knows its agent. */
  configure(): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.#started) return;
    const start = this.events.configure();
    if (!start) return;
    this.#started = true;
    ws.send(start);
  }

  /** Sends a client event now (dropped until the session has started). */
  send(frame: string): void {
    if (this.#ready) this.#ws?.send(frame);
  }

  /** Caller audio: sent when ready, else held (false when the hold is full and it was dropped). */
  audio(payload: string): boolean {
    if (this.#ready) {
      this.#ws!.send(appendLiveAudio(payload));
      return true;
    }
    return this.#held.push(payload);
  }

  /** Held caller audio, handed over (to a session of another engine); the hold is emptied. */
  takeHeld(): string[] {
    return this.#held.take();
  }

  /** Caller audio held elsewhere, kept ahead of what comes next. */
  hold(frames: readonly string[]): void {
    this.#held.prepend(frames);
  }

  /** A Live session is not renewed: it lasts as long as the call (the watchdog never asks). */
  renew(): void {}

  /** Closes for good: `session.close` first when the session runs, so it is finalized. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held.clear();
    this.options.clock.clearTimeout(this.#connectTimer);
    const ws = this.#ws;
    this.#ws = null;
    if (!ws || ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) return;
    if (this.#ready) ws.send(closeSession());
    this.#ready = false;
    ws.close(1000);
  }

  #onFrame(data: unknown): void {
    this.lastEventAt = this.options.clock.now();
    const parsed = parseLiveEvent(data);
    if (!parsed.ok) return this.events.bad(parsed.error);
    const event = parsed.message;
    if (event.type === "session.started" && !this.#ready) {
      this.options.clock.clearTimeout(this.#connectTimer);
      this.#ready = true;
      this.readyAt = this.options.clock.now();
      this.sessionId = event.sessionId;
      const pending = this.#held.take();
      for (const payload of pending) this.#ws!.send(appendLiveAudio(payload));
      this.events.event(event);
      this.events.ready(pending.length);
      return;
    }
    this.events.event(event);
  }

  #onClose(code: number, reason: string): void {
    this.options.clock.clearTimeout(this.#connectTimer);
    const wasReady = this.#ready;
    this.#ws = null;
    this.#ready = false;
    if (this.#closed) return;
    this.#closed = true;
    this.options.log().error("live.closed", { code, reason: reason.slice(0, 120), wasReady });
    this.events.failed(wasReady ? "upstream-dropped" : "upstream-refused");
  }
}
