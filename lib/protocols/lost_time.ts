/**
 * How much time an audio thread has lost against the wall clock: what keeps the voice
 * simulator's frame timestamps on a real-time clock, as Twilio's are. Pure (every time passed
 * in), so it is tested exactly.
 *
 * Twilio stamps each media frame with its time in the stream, on a real-time clock, and the
 * bridge reads a frame that arrives later than that clock says as one that queued on the way:
 * it dates the marks echoed after it back by as much (`lib/realtime/playout_tracker.ts`). The
 * simulator's clock is the audio its worklet renders, and that can lose time: under load,
 * headless Chromium's audio device skips the callbacks it missed rather than catch up. Frames
 * counted on that clock alone then look late by what was lost, and the bridge would take more
 * to have been heard than played. The page adds what was lost to each frame's timestamp.
 *
 * A device renders a callback's worth of quanta at once, ahead of the wall clock, so a thread
 * that keeps time is up to one callback ahead of it at any moment. The reference is therefore
 * the farthest behind the thread runs over its first quanta; only falling behind that counts,
 * and what was lost stays lost (a skipped callback is never rendered later).
 *
 * @module
 */

/** Samples in one Web Audio render quantum. */
const QUANTUM_FRAMES = 128;
/** Render quanta over which the reference is learned (about 170 ms at 48 kHz). */
const REFERENCE_QUANTA = 64;

/** The time lost by one audio thread. */
export class LostTime {
  readonly #quantumMs: number;
  #quanta = 0;
  #reference = -Infinity;
  #lost = 0;

  /** A thread rendering at `sampleRate` (Hz). */
  constructor(sampleRate: number) {
    this.#quantumMs = QUANTUM_FRAMES * 1000 / sampleRate;
  }

  /** The time lost so far, in ms (never less than before). */
  get lostMs(): number {
    return this.#lost;
  }

  /** A render quantum is being rendered at wall time `now` (ms); returns {@link lostMs}. */
  rendered(now: number): number {
    // How far behind its own start it runs, give or take a constant: only changes count.
    const behind = now - this.#quanta * this.#quantumMs;
    this.#quanta++;
    if (this.#quanta <= REFERENCE_QUANTA) this.#reference = Math.max(this.#reference, behind);
    else this.#lost = Math.max(this.#lost, behind - this.#reference);
    return this.#lost;
  }
}
