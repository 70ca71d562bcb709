/**
 * The OpenAI Realtime side of one call: the socket (with TCP_NODELAY), its session generations,
 * audio held until the session is configured, reconnection when a session reaches its time limit
 * (or is renewed before it), and parsed events out. What to configure and what the events mean
 * is the call's business; this module only keeps the connection.
 *
 * @module
 */

import type { TranscriptEntry } from "../calls/call_types.ts";
import type { Clock } from "../platform/clock.ts";
import type { Logger } from "../platform/log.ts";
import { toWebSocketUrl } from "../platform/public_url.ts";
import {
  appendAudio,
  createTextItem,
  parseServerEvent,
  type RealtimeServerEvent,
} from "../protocols/openai_realtime.ts";
import { UpstreamSocket } from "./upstream_socket.ts";

/** Consecutive reconnects (session expiry) tried before the call is failed. */
export const MAX_RECONNECTS = 3;

/** Why the upstream side cannot go on. */
export type UpstreamFailure = "upstream-refused" | "upstream-dropped" | "upstream-timeout";

/** What the session tells its call. */
export interface UpstreamEvents {
  /** A session's socket is open and wants its configuration: the frames to send first. */
  configure(session: number): string[] | null;
  /** The session took its configuration; `flushed` frames of held caller audio went in. */
  ready(flushed: number): void;
  /** A server event of the current session (`session.updated` included). */
  event(event: RealtimeServerEvent): void;
  /** A frame that is not a valid server event. */
  bad(error: string): void;
  /** The session is being replaced (time limit): what it had in progress is gone. */
  replaced(): void;
  failed(reason: UpstreamFailure): void;
}

/** Options of {@link UpstreamSession}. */
export interface UpstreamOptions {
  /** The OpenAI API base URL (`https://…/v1`) and model. */
  baseUrl: string;
  model: string;
  apiKey: string;
  connectTimeoutMs: number;
  clock: Clock;
  /** The call's logger as it is now (it gains the call SID at `start`). */
  log(): Logger;
  /** Called when the socket does not open in time (counted as a limit hit). */
  onConnectTimeout(): void;
}

/** The upstream connection of one call, across its session generations. */
export class UpstreamSession {
  /** The current session's number; events of older ones are ignored. */
  session = 0;
  /** Sockets opened (the first and every reconnect or renewal). */
  connects = 0;
  /** Clock time of the last frame from OpenAI (the stall watchdog reads it). */
  lastEventAt: number;
  readonly #socket: UpstreamSocket;
  #configured = 0;
  #reconnects = 0;
  /** The server said the session hit its time limit: its socket's close reconnects, whatever the code. */
  #expired = false;
  #closed = false;
  /** The model sessions are opened for (in the URL: a session's model cannot change). */
  #model: string;

  constructor(private readonly options: UpstreamOptions, private readonly events: UpstreamEvents) {
    this.lastEventAt = options.clock.now();
    this.#model = options.model;
    this.#socket = new UpstreamSocket({ ...options, engine: "realtime", appendAudio });
  }

  /** Clock time the current session became ready. */
  get readyAt(): number {
    return this.#socket.readyAt;
  }

  /** The model the sessions are opened for. */
  get model(): string {
    return this.#model;
  }

  /**
   * The call's agent wants `model`. The API fixes a session's model when its socket opens (from
   * the URL), so a socket opened for another model (before the agent was known) is replaced by one
   * for this model; the caller's audio held meanwhile is kept.
   */
  useModel(model: string): void {
    if (model === this.#model) return;
    this.#model = model;
    if (this.#closed || !this.#socket.opened) return;
    this.options.log().info("realtime.model_switch", { model });
    this.#drop();
    this.connect();
  }

  /** The session is configured: audio and events flow. */
  get ready(): boolean {
    return this.#socket.ready;
  }

  /** Opens a new session (a new socket). */
  connect(): void {
    if (this.#closed) return;
    const { options } = this;
    const url = `${toWebSocketUrl(options.baseUrl)}/realtime?model=${
      encodeURIComponent(this.#model)
    }`;
    this.session++;
    this.#expired = false;
    this.connects++;
    // The socket passes on only its current socket's events.
    const opened = this.#socket.open(url, {
      open: () => this.configure(),
      message: (data) => this.#onFrame(data),
      close: (code, reason) => this.#onClose(code, reason),
      timeout: () => {
        options.onConnectTimeout();
        this.close();
        this.events.failed("upstream-timeout");
      },
    });
    if (!opened) this.events.failed("upstream-refused");
  }

  /** Sends the call's configuration once per session, as soon as the socket is open and the call knows it. */
  configure(): void {
    if (!this.#socket.writable || this.#configured === this.session) return;
    const frames = this.events.configure(this.session);
    if (!frames) return;
    this.#configured = this.session;
    for (const frame of frames) this.#socket.sendNow(frame);
  }

  /** Sends a client event now (dropped while no session is ready). */
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

  /** Replaces the session with a new one before its time limit (a quiet moment). */
  renew(): void {
    this.#drop();
    this.connect();
  }

  /** Closes for good (the call ended or failed). */
  close(): void {
    this.#closed = true;
    this.session++;
    this.#socket.close();
  }

  /** Closes the current socket; its events are ignored from now on. */
  #drop(): void {
    this.session++;
    this.#socket.drop();
  }

  #onFrame(data: unknown): void {
    this.lastEventAt = this.options.clock.now();
    const parsed = parseServerEvent(data);
    if (!parsed.ok) return this.events.bad(parsed.error);
    const event = parsed.message;
    if (event.type === "session.updated" && !this.#socket.ready) {
      this.#reconnects = 0;
      this.events.ready(this.#socket.becameReady());
    } else if (event.type === "error" && event.code === "session_expired") {
      // The server closes next (1001 "going away"); the close reconnects.
      this.#expired = true;
      this.options.log().info("realtime.session_expired");
      return;
    }
    this.events.event(event);
  }

  #onClose(code: number, reason: string): void {
    const wasReady = this.#socket.closed();
    if (this.#closed) return;
    if ((code === 1001 || this.#expired) && this.#reconnects < MAX_RECONNECTS) {
      // The session reached its time limit: the call goes on over a new one.
      this.#reconnects++;
      this.options.log().info("realtime.reconnect", {
        code,
        expired: this.#expired,
        reconnects: this.#reconnects,
      });
      this.events.replaced();
      this.connect();
      return;
    }
    this.options.log().error("realtime.closed", { code, reason: reason.slice(0, 120), wasReady });
    this.events.failed(wasReady ? "upstream-dropped" : "upstream-refused");
  }
}

/**
 * The conversation so far as text items for a new session: an interrupted agent turn only as
 * far as the caller heard it (its text cut in proportion to the audio played).
 */
export function reseedItems(transcript: readonly TranscriptEntry[]): string[] {
  const items: string[] = [];
  for (const entry of transcript) {
    let text = entry.text;
    if (entry.interrupted && entry.audioMs) {
      text = text.slice(0, Math.round(text.length * (entry.heardMs ?? 0) / entry.audioMs));
    }
    if (!text.trim()) continue;
    items.push(createTextItem(entry.role === "caller" ? "user" : "assistant", text));
  }
  return items;
}
