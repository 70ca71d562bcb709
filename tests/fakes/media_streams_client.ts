/**
 * A Twilio Media Streams client for tests and the benchmark: signs the upgrade like Twilio, sends
 * `connected`/`start`/`media`/`dtmf`/`mark`/`stop` exactly as Twilio's docs show them (built from
 * the verbatim examples in `tests/fixtures/`, field order included), and emulates Twilio's
 * playout of the audio it gets back (over a socket with Nagle off, as a real media server
 * would): 160 bytes per 20 ms, played in order; a mark is echoed once the audio queued before it
 * has played; `clear` drops the queue and echoes every pending mark at once.
 *
 * Like Twilio, it checks every message the service sends (`checkStreamMessage`: `media`, `mark`
 * or `clear`, the documented fields and no others, this stream's SID, base64 audio): an invalid
 * one is not acted upon (no audio queued, no mark echoed, nothing cleared) and is recorded in
 * `invalid` (Twilio's warning 31951, 31950 for a binary frame); the stream goes on. `close`
 * fails if any was seen.
 */

import twilio from "twilio";
import { base64ByteLength } from "../../lib/protocols/media_streams.ts";
import { NoDelayWebSocket } from "../../lib/platform/ws_client.ts";
import { EventLog } from "./event_log.ts";
import { TWILIO_CALLS } from "./twilio_calls.ts";
import { hotFrameBuilders, MEDIA_STREAMS, twilioFrame } from "./twilio_frames.ts";
import { checkStreamMessage } from "./twilio_validation.ts";

/** A message received from the service (parsed). */
export type Received = Record<string, unknown> & { event: string };

/** A `clear` as the emulated caller experienced it. */
export interface ClearRecord {
  at: number;
  /** Total assistant audio played before the clear, in bytes. */
  playedBytes: number;
  droppedBytes: number;
}

/** A message Twilio would not have acted upon (warning 31951 or 31950). */
export interface InvalidStreamMessage {
  /** The frame as received (a binary frame as a placeholder). */
  raw: string;
  problem: string;
}

/** Options of {@link MediaStreamsClient.connect}. */
export interface MediaStreamsClientOptions {
  /** Signs with this token (as Twilio would); omit to send no signature. */
  authToken?: string;
  /** Path on the service (default `/twilio/stream`). */
  path?: string;
  /** Keep every received media payload (off for the benchmark). */
  keepAudio?: boolean;
  /** Called for each media payload received, with `performance.now()` (not kept in `received`). */
  onMedia?: (payload: string, at: number) => void;
  /** Called for each mark received, with `performance.now()` (not kept in `received`). */
  onMark?: (name: string, at: number) => void;
  /** Called for each clear received. */
  onClear?: (at: number) => void;
  /** The call's SID (default: a new one), e.g. the one a webhook was already asked about. */
  callSid?: string;
}

const ACCOUNT_SID = "AC00000000000000000000000000000000";

/** A mark as the service writes it, with a name that needs no JSON escape. */
const PLAIN_MARK =
  /^\{"event":"mark","streamSid":"([A-Za-z0-9]+)","mark":\{"name":"([ !#-\[\]-\uffff]+)"\}\}$/;
/** A media frame as the service writes it: its stream SID and its payload (base64 if whole). */
const PLAIN_MEDIA = new RegExp(
  String.raw`^\{"event":"media","streamSid":"([A-Za-z0-9]+)",` +
    String.raw`"media":\{"payload":"([A-Za-z0-9+/]+={0,2})"\}\}$`,
);

/** One emulated Twilio call leg. */
export class MediaStreamsClient {
  readonly received = new EventLog<Received>();
  readonly clears = new EventLog<ClearRecord>();
  /** Every message Twilio would not have acted upon, in order. */
  readonly invalid = new EventLog<InvalidStreamMessage>();
  /** Every media payload received, in order (with `keepAudio`). */
  readonly audio: string[] = [];
  readonly streamSid = `MZ${crypto.randomUUID().replaceAll("-", "")}`;
  readonly callSid: string;
  /** Total audio bytes received / dropped by a clear. */
  receivedBytes = 0;
  droppedBytes = 0;
  /** The most audio ever queued here (received, not yet played), in ms. */
  maxQueuedMs = 0;
  /** Marks echoed back, by name, in order. */
  readonly echoes = new EventLog<string>();
  closed: Promise<CloseEvent>;

  #ws: NoDelayWebSocket;
  #options: MediaStreamsClientOptions;
  #frames = hotFrameBuilders(this.streamSid);
  #sequence = 0;
  #chunk = 0;
  /** When the queued audio will have finished playing (performance.now() ms). */
  #busyUntil = 0;
  /** Marks waiting for their audio to play: name and due time. */
  #marks: { name: string; due: number }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(ws: NoDelayWebSocket, options: MediaStreamsClientOptions) {
    this.callSid = options.callSid ?? `CA${crypto.randomUUID().replaceAll("-", "")}`;
    TWILIO_CALLS.add(this.callSid);
    this.#ws = ws;
    this.#options = options;
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (ev) => {
        clearTimeout(this.#timer);
        clearTimeout(this.#delayTimer);
        this.#delayed = [];
        this.#marks = [];
        resolve(ev);
      });
    });
    ws.addEventListener("message", (ev) => this.#onMessage(ev.data));
  }

  /** Opens the socket to `serviceUrl` (http://127.0.0.1:PORT) and waits for it to be open. */
  static async connect(
    serviceUrl: string,
    options: MediaStreamsClientOptions = {},
  ): Promise<MediaStreamsClient> {
    const url = `${serviceUrl.replace(/^http/, "ws")}${options.path ?? "/twilio/stream"}`;
    const headers: Record<string, string> = {};
    if (options.authToken) {
      headers["X-Twilio-Signature"] = twilio.getExpectedTwilioSignature(
        options.authToken,
        url,
        {},
      );
    }
    const ws = new NoDelayWebSocket(url, { headers });
    const client = new MediaStreamsClient(ws, options);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve());
      ws.addEventListener("error", () => reject(new Error("stream socket failed to open")));
    });
    return client;
  }

  /** True while the socket is open. */
  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Assistant audio played so far, in bytes (the emulated caller's ears). */
  playedBytes(now = performance.now()): number {
    return this.receivedBytes - this.droppedBytes - Math.max(0, this.#busyUntil - now) * 8;
  }

  /** Assistant audio received and not yet played, in ms: what a `clear` now would drop. */
  queuedMs(now = performance.now()): number {
    return Math.max(0, this.#busyUntil - now);
  }

  /** Sends `connected` then `start` with `customParameters`. */
  start(customParameters: Record<string, string> = { agent: "default" }): void {
    const { fromTwilio } = MEDIA_STREAMS;
    this.sendRaw(twilioFrame(fromTwilio.connected, {}));
    this.sendRaw(twilioFrame(fromTwilio.start, {
      sequenceNumber: String(++this.#sequence),
      start: {
        accountSid: ACCOUNT_SID,
        streamSid: this.streamSid,
        callSid: this.callSid,
        tracks: ["inbound"],
        customParameters,
      },
      streamSid: this.streamSid,
    }));
  }

  /** Sends one caller audio frame (base64 µ-law). */
  media(payload: string): void {
    const chunk = ++this.#chunk;
    this.sendRaw(this.#frames.media(++this.#sequence, chunk, chunk * 20, payload));
  }

  /** Sends a key press. */
  dtmf(digit: string): void {
    this.sendRaw(twilioFrame(MEDIA_STREAMS.fromTwilio.dtmf, {
      streamSid: this.streamSid,
      sequenceNumber: String(++this.#sequence),
      dtmf: { digit },
    }));
  }

  /** Sends `stop` (the caller hung up). */
  stop(): void {
    this.sendRaw(twilioFrame(MEDIA_STREAMS.fromTwilio.stop, {
      sequenceNumber: String(++this.#sequence),
      stop: { accountSid: ACCOUNT_SID, callSid: this.callSid },
      streamSid: this.streamSid,
    }));
  }

  /** Sends a JSON message as is. */
  sendJson(message: Record<string, unknown>): void {
    this.sendRaw(JSON.stringify(message));
  }

  /**
   * Every message sent from now on reaches the service this much later, in order (a congested
   * path between Twilio and the service); 0 sends at once.
   */
  outgoingDelayMs = 0;
  #delayed: { data: string | Uint8Array; due: number }[] = [];
  #delayTimer: ReturnType<typeof setTimeout> | undefined;

  /** Sends a raw frame (text or binary). */
  sendRaw(data: string | Uint8Array): void {
    if (this.outgoingDelayMs > 0 || this.#delayed.length > 0) {
      this.#delayed.push({ data, due: performance.now() + this.outgoingDelayMs });
      this.#delayTimer ??= setTimeout(() => this.#sendDelayed(), this.outgoingDelayMs);
      return;
    }
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(data);
  }

  #sendDelayed(): void {
    this.#delayTimer = undefined;
    const now = performance.now();
    while (this.#delayed.length > 0 && this.#delayed[0].due <= now) {
      const { data } = this.#delayed.shift()!;
      if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(data);
    }
    if (this.#delayed.length > 0) {
      this.#delayTimer = setTimeout(() => this.#sendDelayed(), this.#delayed[0].due - now);
    }
  }

  /**
   * Closes the socket and waits for it to be closed; then fails if the service sent any message
   * Twilio would not have acted upon.
   */
  async close(): Promise<void> {
    await this.disconnect();
    this.assertNoInvalid();
  }

  /** Closes the socket and waits for it to be closed. */
  async disconnect(): Promise<void> {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close(1000);
    }
    await this.closed;
  }

  /** Throws if the service sent any message Twilio would not have acted upon. */
  assertNoInvalid(): void {
    const invalid = this.invalid.items;
    if (invalid.length === 0) return;
    const list = invalid.slice(0, 5).map((m) => `${m.problem}: ${m.raw.slice(0, 200)}`);
    throw new Error(
      `stream ${this.streamSid}: the service sent ${invalid.length} message(s) Twilio would ` +
        `not act upon (warning 31951):\n  ${list.join("\n  ")}`,
    );
  }

  #onMessage(data: unknown): void {
    const now = performance.now();
    if (typeof data !== "string") {
      return void this.invalid.push({ raw: "(binary frame)", problem: "a binary frame" });
    }
    // Media is the hot path: its usual shape is checked and read without a parse.
    const media = PLAIN_MEDIA.exec(data);
    if (media && media[1] === this.streamSid && media[2].length % 4 === 0) {
      return this.#media(media[2], now);
    }
    // So are marks (one after each media).
    const plain = PLAIN_MARK.exec(data);
    if (plain && plain[1] === this.streamSid) return this.#mark(plain[2], now, null);
    // Anything else is parsed and checked in full, as Twilio would.
    const checked = checkStreamMessage(data, this.streamSid);
    if ("problem" in checked) {
      return void this.invalid.push({ raw: data, problem: checked.problem });
    }
    const message = checked.message as Received;
    if (message.event === "media") {
      return this.#media((message.media as { payload: string }).payload, now);
    }
    if (message.event === "mark") {
      return this.#mark((message.mark as { name: string }).name, now, message);
    }
    this.received.push(message);
    if (message.event === "clear") {
      const played = this.playedBytes(now);
      const dropped = this.receivedBytes - this.droppedBytes - played;
      this.droppedBytes += dropped;
      this.#busyUntil = now;
      this.clears.push({ at: now, playedBytes: played, droppedBytes: dropped });
      this.#options.onClear?.(now);
      // Twilio echoes every pending mark at once after a clear.
      clearTimeout(this.#timer);
      this.#timer = undefined;
      for (const mark of this.#marks.splice(0)) this.#echo(mark.name);
    }
  }

  /** A valid media payload: queued for playout. */
  #media(payload: string, now: number): void {
    const bytes = base64ByteLength(payload);
    this.receivedBytes += bytes;
    this.#busyUntil = Math.max(now, this.#busyUntil) + bytes / 8;
    this.maxQueuedMs = Math.max(this.maxQueuedMs, this.#busyUntil - now);
    if (this.#options.keepAudio) this.audio.push(payload);
    this.#options.onMedia?.(payload, now);
    if (!this.#options.onMedia) this.received.push({ event: "media", bytes });
  }

  /** A valid mark (`message` if it was parsed): echoed once the audio before it has played. */
  #mark(name: string, now: number, message: Received | null): void {
    if (message || !this.#options.onMark) {
      this.received.push(message ?? { event: "mark", mark: { name } });
    }
    this.#marks.push({ name, due: Math.max(now, this.#busyUntil) });
    this.#options.onMark?.(name, now);
    this.#schedule(now);
  }

  #schedule(now: number): void {
    if (this.#timer !== undefined || this.#marks.length === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const at = performance.now();
      while (this.#marks.length > 0 && this.#marks[0].due <= at) {
        this.#echo(this.#marks.shift()!.name);
      }
      this.#schedule(at);
    }, Math.max(0, this.#marks[0].due - now));
  }

  #echo(name: string): void {
    this.echoes.push(name);
    this.sendRaw(this.#frames.mark(++this.#sequence, name));
  }
}
