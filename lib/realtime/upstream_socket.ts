/**
 * The socket under either engine's upstream session ({@link UpstreamSession} for Realtime,
 * `LiveSession` for GPT-Live): one WebSocket to OpenAI at a time (TCP_NODELAY, the key as a bearer
 * token) with its connect timer, and the caller's audio held until the session is ready, then
 * sent in order ahead of what comes next. Sends are dropped while no session is ready. What a
 * session is, when it is ready and what its frames mean is the session's business.
 *
 * @module
 */

import type { Clock, TimerId } from "../platform/clock.ts";
import { errorMessage, type Logger } from "../platform/log.ts";
import { NoDelayWebSocket } from "../platform/ws_client.ts";
import { HeldAudio } from "./held_audio.ts";

/** Options of {@link UpstreamSocket}. */
export interface UpstreamSocketOptions {
  /** Names its log events (`realtime.connect_failed`, `live.socket_error`, …). */
  engine: "realtime" | "live";
  apiKey: string;
  connectTimeoutMs: number;
  clock: Clock;
  log(): Logger;
  /** The client event that carries one frame of caller audio. */
  appendAudio(payload: string): string;
}

/** What one socket tells its session. */
export interface UpstreamSocketHandlers {
  open(): void;
  message(data: unknown): void;
  close(code: number, reason: string): void;
  /** Its session was not ready in time. */
  timeout(): void;
}

/** The current socket of an upstream session, and the caller audio held for it. */
export class UpstreamSocket {
  /** Clock time the current session became ready. */
  readyAt = 0;
  #ws: NoDelayWebSocket | null = null;
  #ready = false;
  #connectTimer: TimerId | undefined;
  readonly #held = new HeldAudio();

  constructor(private readonly options: UpstreamSocketOptions) {}

  /** The session on the current socket is ready: audio and commands flow. */
  get ready(): boolean {
    return this.#ready;
  }

  /** A socket is open (or opening). */
  get opened(): boolean {
    return this.#ws !== null;
  }

  /** The current socket is open and can take frames (a session's configuration). */
  get writable(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  /** Opens a socket to `url` (dropping none: {@link drop} the old one first); false if refused. */
  open(url: string, handlers: UpstreamSocketHandlers): boolean {
    const { options } = this;
    let ws: NoDelayWebSocket;
    try {
      ws = new NoDelayWebSocket(url, { headers: { Authorization: `Bearer ${options.apiKey}` } });
    } catch (err) {
      options.log().error(`${options.engine}.connect_failed`, { error: errorMessage(err) });
      return false;
    }
    this.#ws = ws;
    this.#connectTimer = options.clock.setTimeout(
      () => handlers.timeout(),
      options.connectTimeoutMs,
    );
    // A dropped socket's events are not its session's any more: only the current one's pass.
    const current = () => this.#ws === ws;
    ws.addEventListener("open", () => current() && handlers.open());
    ws.addEventListener("message", (ev) => current() && handlers.message(ev.data));
    ws.addEventListener("error", () => options.log().warn(`${options.engine}.socket_error`));
    ws.addEventListener("close", (ev) => current() && handlers.close(ev.code, ev.reason));
    return true;
  }

  /** The session is ready: the held caller audio goes in now; returns how many frames. */
  becameReady(): number {
    this.options.clock.clearTimeout(this.#connectTimer);
    this.#ready = true;
    this.readyAt = this.options.clock.now();
    const pending = this.#held.take();
    for (const payload of pending) this.#ws!.send(this.options.appendAudio(payload));
    return pending.length;
  }

  /** Sends a frame now, whether or not the session is ready (its configuration). */
  sendNow(frame: string): void {
    this.#ws?.send(frame);
  }

  /** Sends a client event now (dropped while no session is ready). */
  send(frame: string): void {
    if (this.#ready) this.#ws?.send(frame);
  }

  /** Caller audio: sent when ready, else held (false when the hold is full and it was dropped). */
  audio(payload: string): boolean {
    if (this.#ready) {
      this.#ws!.send(this.options.appendAudio(payload));
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

  /** Closes for good (the call is over): the held audio is dropped, then the socket. */
  close(lastFrame?: string): void {
    this.#held.clear();
    this.drop(lastFrame);
  }

  /** The socket closed by itself; returns whether its session was ready. */
  closed(): boolean {
    this.options.clock.clearTimeout(this.#connectTimer);
    const wasReady = this.#ready;
    this.#ws = null;
    this.#ready = false;
    return wasReady;
  }

  /** Closes the current socket (1000), sending `lastFrame` first if its session is ready. */
  drop(lastFrame?: string): void {
    this.options.clock.clearTimeout(this.#connectTimer);
    const ws = this.#ws;
    const wasReady = this.#ready;
    this.#ws = null;
    this.#ready = false;
    if (!ws || ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) return;
    if (wasReady && lastFrame) ws.send(lastFrame);
    ws.close(1000);
  }
}
