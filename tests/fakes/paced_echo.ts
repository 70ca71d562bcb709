/**
 * The fake Live server's echo mode (for the benchmark): the caller's audio comes back as the
 * model's, as `session.output_audio.delta` events (the SDK's shape: `type` and `delta`, with no
 * timestamps on the primary socket), paced as Live paces its output, in delivery order: an output
 * clock runs in real time from the turn's first delta, and a delta goes out only once it is at
 * most `echoLeadMs` ahead of it: a burst of input leaves spread over its own duration. Input
 * that came late (it stalled on its way) goes out at once, as its time has come, by up to
 * `echoCatchUpMs` behind the clock: an echo cannot precede what it echoes, and a bridge's stall
 * must not become lasting latency at the fake. With `echoDeltaMs`, appends are gathered into longer deltas first (real
 * servers send 100 ms and more at once).
 *
 * @module
 */

import { AudioGather } from "./audio_gather.ts";

const DELTA_HEAD = '{"type":"session.output_audio.delta","delta":"';

/** How the echo is cut and paced (read at each delta: the benchmark changes it between runs). */
export interface EchoPacing {
  /** Gather appended audio into deltas of at least this many ms (0: each append is one). */
  echoDeltaMs: number;
  /** How far ahead of real-time playout a delta may be sent, in ms. */
  echoLeadMs: number;
  /** How far behind the clock late input may still go out at once, in ms. */
  echoCatchUpMs: number;
}

/** One session's echo. */
export class PacedEcho {
  readonly #gather: AudioGather;
  readonly #queue: { delta: string; bytes: number }[] = [];
  /** When the audio sent so far will have played at real time (performance.now() ms; null: a
   * new turn, whose first delta starts the clock). */
  #end: number | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `send` gets each delta's event and the bytes of audio it carries. */
  constructor(
    private readonly send: (text: string, bytes: number) => void,
    private readonly pacing: EchoPacing,
  ) {
    this.#gather = new AudioGather(() => pacing.echoDeltaMs);
  }

  /** Caller audio (base64 µ-law, 8 bytes a ms) to come back as output. */
  push(appended: string): void {
    const audio = this.#gather.push(appended);
    if (audio === null) return;
    const pad = audio.endsWith("==") ? 2 : audio.endsWith("=") ? 1 : 0;
    this.#queue.push({ delta: audio, bytes: (audio.length * 3) / 4 - pad });
    this.#pace();
  }

  /** Drops what waits for its time (the caller cut in: Live stops its output; or the end). */
  drop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.#gather.drop();
    this.#end = null;
  }

  /** Sends every delta whose time has come; a timer for the next one. */
  #pace(): void {
    const { echoLeadMs: lead, echoCatchUpMs: catchUp } = this.pacing;
    const now = performance.now();
    const clock = () => Math.max(this.#end ?? now, now - catchUp);
    while (this.#queue.length > 0 && clock() - now <= lead) {
      const { delta, bytes } = this.#queue.shift()!;
      this.#end = clock() + bytes / 8;
      this.send(DELTA_HEAD + delta + '"}', bytes);
    }
    if (this.#queue.length > 0 && this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#pace();
      }, clock() - lead - now);
    }
  }
}
