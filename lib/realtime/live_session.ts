/**
 * The OpenAI GPT-Live side of one call: the primary WebSocket to `/v1/live/sessions` (with
 * TCP_NODELAY, no query: the model is in `session.start`), the caller's audio held until
 * `session.started`, and parsed events out. A Live session is not renewed or re-seeded: when it
 * closes the call cannot go on. What to start with and what the events mean is the call's
 * business; this module only keeps the connection.
 *
 * @module
 */

import type { Clock } from "../platform/clock.ts";
import type { Logger } from "../platform/log.ts";
import { toWebSocketUrl } from "../platform/public_url.ts";
import {
  appendLiveAudio,
  closeSession,
  type LiveServerEvent,
  parseLiveEvent,
} from "../protocols/openai_live.ts";
import type { UpstreamFailure } from "./upstream_session.ts";
import { UpstreamSocket } from "./upstream_socket.ts";

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
  /** The server's id of the session (for a sideband, a fork, a recording), once started. */
  sessionId: string | null = null;

  readonly #socket: UpstreamSocket;
  #started = false;
  #closed = false;

  constructor(
    private readonly options: LiveSessionOptions,
    private readonly events: LiveSessionEvents,
  ) {
    this.lastEventAt = options.clock.now();
    this.#socket = new UpstreamSocket({ ...options, engine: "live", appendAudio: appendLiveAudio });
  }

  /** Clock time the session started. */
  get readyAt(): number {
    return this.#socket.readyAt;
  }

  /** `session.started` arrived: audio and commands flow. */
  get ready(): boolean {
    return this.#socket.ready;
  }

  /** Opens the session's socket. */
  connect(): void {
    if (this.#closed || this.#socket.opened) return;
    const { options } = this;
    const opened = this.#socket.open(`${toWebSocketUrl(options.baseUrl)}/live/sessions`, {
      open: () => this.configure(),
      message: (data) => {
        if (!this.#closed) this.#onFrame(data);
      },
      close: (code, reason) => this.#onClose(code, reason),
      timeout: () => {
        options.onConnectTimeout();
        this.close();
        this.events.failed("upstream-timeout");
      },
    });
    if (!opened) this.events.failed("upstream-refused");
  }

  /** Sends `session.start` once, as soon as the socket is open and the call knows its agent. */
  configure(): void {
    if (!this.#socket.writable || this.#started) return;
    const start = this.events.configure();
    if (!start) return;
    this.#started = true;
    this.#socket.sendNow(start);
  }

  /** Sends a client event now (dropped until the session has started). */
  send(frame: string): void {
    this.#socket.send(frame);
  }

  /** Caller audio: sent when ready, else held (false when the hold is full and it was dropped). */
  audio(payload: string): boolean {
    return this.#socket.audio(payload);
  }

  /** Held caller audio, handed over (to a session of another engine); the hold is emptied. */
  takeHeld(): string[] {
    return this.#socket.takeHeld();
  }

  /** Caller audio held elsewhere, kept ahead of what comes next. */
  hold(frames: readonly string[]): void {
    this.#socket.hold(frames);
  }

  /** A Live session is not renewed: it lasts as long as the call (the watchdog never asks). */
  renew(): void {}

  /** Closes for good: `session.close` first when the session runs, so it is finalized. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close(closeSession());
  }

  #onFrame(data: unknown): void {
    this.lastEventAt = this.options.clock.now();
    const parsed = parseLiveEvent(data);
    if (!parsed.ok) return this.events.bad(parsed.error);
    const event = parsed.message;
    if (event.type === "session.started" && !this.#socket.ready) {
      this.sessionId = event.sessionId;
      const flushed = this.#socket.becameReady();
      this.events.event(event);
      this.events.ready(flushed);
      return;
    }
    this.events.event(event);
  }

  #onClose(code: number, reason: string): void {
    const wasReady = this.#socket.closed();
    if (this.#closed) return;
    this.#closed = true;
    this.options.log().error("live.closed", { code, reason: reason.slice(0, 120), wasReady });
    this.events.failed(wasReady ? "upstream-dropped" : "upstream-refused");
  }
}
