/**
 * The Twilio side of a realtime call: assistant audio out as base64 µ-law, one `media` and one
 * named mark per upstream delta (a delta over 1 s is cut into chunks of at most 1 s), and what
 * the caller has heard of it (the playout tracker, fed by Twilio's echoed marks and media
 * timestamps). Audio passes through untouched: a long delta is cut on 4-character base64
 * boundaries, never decoded. A mark per delta rather than per 20 ms: real deltas are 100 ms and
 * more, and cutting each into 20 ms chunks multiplied the messages either way (media and marks
 * out, echoed marks in) by five to ten, while the tracker times the caller's ears within a chunk
 * from when its playout began, so barge-in accuracy does not depend on the chunk length.
 *
 * @module
 */

import type { CallSocket, TranscriptEntry } from "../calls/call_types.ts";
import {
  base64ByteLength,
  MediaStreamWriter,
  MULAW_BYTES_PER_MS,
} from "../protocols/media_streams.ts";
import { type Heard, type MarkEcho, PlayoutTracker } from "./playout_tracker.ts";

/** Deltas up to 1 s go to Twilio as they are; longer ones are cut into base64 groups of 3 bytes. */
const CHUNK_BYTES = 8000;
/** At most 2666 groups (7998 bytes ≈ 1 s) per chunk, so a mark follows every ≤ 1 s of audio. */
const MAX_CHUNK_GROUPS = 2666;
/** Key tones go out in Twilio's own 20 ms frames. */
const TONE_FRAME_BYTES = 160;

/** An assistant item whose audio is going out. */
export interface OutgoingItem {
  itemId: string;
  responseId: string;
  /** The upstream session it belongs to. */
  session: number;
  /** Audio sent so far. */
  bytes: number;
  /** Its transcript line (its `audioMs` follows the audio sent). */
  entry: TranscriptEntry;
}

/** The stream of one call. */
export class TwilioStream {
  readonly #playout = new PlayoutTracker();
  readonly #writer: MediaStreamWriter;

  constructor(
    private readonly socket: CallSocket,
    streamSid: string,
    private readonly monotonic: () => number,
  ) {
    this.#writer = new MediaStreamWriter(streamSid);
  }

  /** True while Twilio may still be playing assistant audio. */
  get playing(): boolean {
    return this.#playout.playing;
  }

  /** Audio sent to Twilio and not yet played, in ms (see {@link PlayoutTracker.queuedMs}). */
  get queuedMs(): number {
    return this.#playout.queuedMs(this.monotonic());
  }

  /** Sends one delta of `item`'s audio; returns the chunks it became. */
  play(item: OutgoingItem, delta: string): number {
    if (base64ByteLength(delta) <= CHUNK_BYTES) {
      this.#chunk(item, delta);
      return 1;
    }
    // Equal chunks cut on 4-character boundaries stay valid base64 without decoding.
    const groups = delta.length / 4;
    const chars = Math.ceil(groups / Math.ceil(groups / MAX_CHUNK_GROUPS)) * 4;
    let chunks = 0;
    for (let i = 0; i < delta.length; i += chars) {
      this.#chunk(item, delta.substring(i, i + chars));
      chunks++;
    }
    return chunks;
  }

  /** Plays µ-law bytes (key tones) in 20 ms frames, with no marks. */
  playRaw(mulaw: Uint8Array): void {
    for (let i = 0; i < mulaw.length; i += TONE_FRAME_BYTES) {
      const frame = mulaw.subarray(i, i + TONE_FRAME_BYTES);
      this.#send(this.#writer.media(btoa(String.fromCharCode(...frame))));
    }
  }

  /** Twilio echoed mark `name` (see {@link PlayoutTracker.acknowledged}). */
  mark(name: string): MarkEcho {
    return this.#playout.acknowledged(name, this.monotonic());
  }

  /** A media frame with Twilio's `timestamp` arrived (it dates late echoes back). */
  media(timestamp: number): void {
    this.#playout.media(timestamp, this.monotonic());
  }

  /** Stops what Twilio plays (`clear`); returns what had been heard of it (null: nothing plays). */
  clear(): Heard | null {
    const heard = this.#playout.heard(this.monotonic());
    if (!heard) return null;
    this.#send(this.#writer.clear());
    this.#playout.clear();
    return heard;
  }

  #chunk(item: OutgoingItem, payload: string): void {
    const startMs = item.bytes / MULAW_BYTES_PER_MS;
    item.bytes += base64ByteLength(payload);
    const endMs = item.bytes / MULAW_BYTES_PER_MS;
    item.entry.audioMs = endMs;
    const name = this.#playout.sent(
      { itemId: item.itemId, session: item.session, startMs, durationMs: endMs - startMs },
      this.monotonic(),
    );
    this.#send(this.#writer.media(payload));
    this.#send(this.#writer.mark(name));
  }

  #send(message: string): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(message);
  }
}
