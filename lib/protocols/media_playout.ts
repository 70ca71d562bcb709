/**
 * Twilio's playout of a bidirectional Media Stream, as the voice simulator plays it: the
 * service's audio queues in order with its marks between the chunks; a mark is echoed when
 * playout reaches it (at once when nothing is queued before it); `clear` drops the queued audio
 * and echoes every pending mark at once, as Twilio's Media Streams docs describe (and as the
 * fake Twilio client, `tests/fakes/media_streams_client.ts`, plays it). Pure (samples in,
 * samples out): the voice simulator's audio worklet pulls one render quantum at a time.
 *
 * @module
 */

type Entry = { audio: Float32Array; offset: number } | { mark: string };

/** What one {@link PlayoutQueue.pull} played. */
export interface Pulled {
  /** Marks reached, in order. */
  marks: string[];
  /** Samples of queued audio played (the rest of the output is silence). */
  played: number;
}

/** The audio and marks waiting to be played. */
export class PlayoutQueue {
  readonly #entries: Entry[] = [];
  #queued = 0;

  /** Samples of audio waiting. */
  get queued(): number {
    return this.#queued;
  }

  /** Queues audio after what is queued. */
  enqueue(samples: Float32Array): void {
    if (samples.length === 0) return;
    this.#entries.push({ audio: samples, offset: 0 });
    this.#queued += samples.length;
  }

  /** Queues a mark after the audio queued so far. */
  mark(name: string): void {
    this.#entries.push({ mark: name });
  }

  /**
   * Fills `out` with the next queued audio (silence after it) and says which marks playout
   * reached: those before the audio played, and those right after it.
   */
  pull(out: Float32Array): Pulled {
    const marks: string[] = [];
    let written = 0;
    while (this.#entries.length > 0) {
      const head = this.#entries[0];
      if ("mark" in head) {
        marks.push(head.mark);
        this.#entries.shift();
        continue;
      }
      if (written === out.length) break;
      const n = Math.min(out.length - written, head.audio.length - head.offset);
      out.set(head.audio.subarray(head.offset, head.offset + n), written);
      written += n;
      head.offset += n;
      this.#queued -= n;
      if (head.offset === head.audio.length) this.#entries.shift();
    }
    out.fill(0, written);
    return { marks, played: written };
  }

  /** `clear`: drops the queued audio; returns the pending marks, to be echoed at once. */
  clear(): string[] {
    const marks: string[] = [];
    for (const entry of this.#entries) if ("mark" in entry) marks.push(entry.mark);
    this.#entries.length = 0;
    this.#queued = 0;
    return marks;
  }
}
