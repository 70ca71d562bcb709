/**
 * What the caller has heard of the assistant's audio, from the marks Twilio echoes: pure (no
 * sockets, every time passed in), so barge-in accuracy is tested exactly.
 *
 * The bridge sends each chunk of audio (an upstream delta, ≤ 1 s) followed by a named mark;
 * Twilio echoes a mark once the audio before it has played. Everything up to the last echoed mark has been heard;
 * from then on Twilio plays the queued chunks back to back, none before it was sent. An echo
 * that reaches the bridge late (a congested path, a busy process) is dated back by as much as
 * the media frame before it was late, read from Twilio's own media timestamps (Twilio sends a
 * frame every 20 ms in real time). After `clear`, Twilio echoes every pending mark at once:
 * those echoes are stale, and a new generation of mark names tells them apart.
 *
 * @module
 */

/** One chunk of assistant audio as sent to Twilio. */
export interface SentChunk {
  itemId: string;
  /** The upstream session the item belongs to (item ids do not survive a reconnect). */
  session: number;
  /** Audio of the item before this chunk, and the chunk's own length, in ms. */
  startMs: number;
  durationMs: number;
}

/** Where the caller is: the item being heard and how much of it, in ms. */
export interface Heard {
  itemId: string;
  session: number;
  heardMs: number;
}

/** What an echoed mark meant. */
export type MarkEcho = "drained" | "playing" | "stale";

interface PendingMark extends SentChunk {
  name: string;
  sentAt: number;
}

/** Acknowledged marks kept at most before they are dropped from the front of the queue. */
const MARKS_COMPACT_AT = 64;
/**
 * The fastest Twilio → bridge transit seen (arrival − media timestamp) may creep up by this much
 * per frame, so a drift between Twilio's clock and ours is followed (≈ 180 ms an hour).
 */
const TRANSIT_DRIFT_PER_FRAME_MS = 0.001;
/** Largest correction for Twilio messages that queued on the way (a stall, not a clock error). */
const MAX_QUEUE_CORRECTION_MS = 100;

/** The playout of one call's stream. */
export class PlayoutTracker {
  #generation = 0;
  #marks: PendingMark[] = [];
  #head = 0;
  /** When the last echoed mark's audio ended (its arrival, less the time it queued on the way). */
  #lastAckAt = -Infinity;
  /** Lowest (arrival − Twilio's media timestamp) seen: Twilio's clock mapped onto ours. */
  #fastestTransit = Infinity;
  /** How much later than its fastest the last media frame arrived. */
  #queueMs = 0;

  /** True while Twilio may still be playing assistant audio. */
  get playing(): boolean {
    return this.#head < this.#marks.length;
  }

  /** How much later than its fastest the last media frame from Twilio arrived, in ms. */
  get queueMs(): number {
    return this.#queueMs;
  }

  /** Registers `chunk`, sent at `at`; returns the name of the mark to send right after it. */
  sent(chunk: SentChunk, at: number): string {
    const name = `${this.#generation}:${chunk.itemId}:${chunk.startMs + chunk.durationMs}`;
    this.#marks.push({ ...chunk, name, sentAt: at });
    return name;
  }

  /** A media frame stamped `timestamp` (Twilio's ms since the stream started) arrived at `at`. */
  media(timestamp: number, at: number): void {
    const transit = at - timestamp;
    this.#fastestTransit = Math.min(this.#fastestTransit + TRANSIT_DRIFT_PER_FRAME_MS, transit);
    this.#queueMs = Math.min(transit - this.#fastestTransit, MAX_QUEUE_CORRECTION_MS);
  }

  /**
   * The mark `name` was echoed, arriving at `at`: `drained` when nothing more is queued (the
   * agent's turn has been heard), `playing` when more is, `stale` when it is not the next mark
   * (from a cleared generation).
   */
  acknowledged(name: string, at: number): MarkEcho {
    const head = this.#marks[this.#head];
    if (!head || head.name !== name) return "stale";
    this.#head++;
    // It came as late as the media frame before it on the same socket; that delay is not playout.
    this.#lastAckAt = Math.max(this.#lastAckAt, at - this.#queueMs);
    if (this.#head === this.#marks.length) {
      this.#marks = [];
      this.#head = 0;
      return "drained";
    }
    if (this.#head >= MARKS_COMPACT_AT && this.#head * 2 >= this.#marks.length) {
      // Audio that keeps flowing never drains the queue: drop the acknowledged marks so the
      // array stays as long as what is queued, not as long as the call.
      this.#marks.splice(0, this.#head);
      this.#head = 0;
    }
    return "playing";
  }

  /**
   * What has been heard at `now` (null when nothing is playing). It never runs past a chunk
   * sent, so it is within the audio received for the item.
   */
  heard(now: number): Heard | null {
    if (!this.playing) return null;
    let free = this.#lastAckAt;
    const last = this.#marks.length - 1;
    for (let i = this.#head;; i++) {
      const mark = this.#marks[i];
      const start = Math.max(free, mark.sentAt);
      const end = start + mark.durationMs;
      if (now < end || i === last) {
        return {
          itemId: mark.itemId,
          session: mark.session,
          heardMs: mark.startMs + Math.min(Math.max(0, now - start), mark.durationMs),
        };
      }
      free = end;
    }
  }

  /**
   * Audio sent to Twilio and not yet played at `now`, in ms: what a `clear` would cut, and what
   * a barge-in would talk over without one. Chunks play back to back from the last echo, none
   * before it was sent (as in {@link heard}).
   */
  queuedMs(now: number): number {
    let free = this.#lastAckAt;
    for (let i = this.#head; i < this.#marks.length; i++) {
      const mark = this.#marks[i];
      free = Math.max(free, mark.sentAt) + mark.durationMs;
    }
    return Math.max(0, free - now);
  }

  /** Twilio's queue was cleared: the marks pending now will come back stale. */
  clear(): void {
    this.#generation++;
    this.#marks = [];
    this.#head = 0;
    this.#lastAckAt = -Infinity;
  }
}
