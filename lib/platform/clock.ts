/**
 * Timers behind an interface, so per-call timers (silence, DTMF, fallbacks) can run on a fake
 * clock in tests while sockets stay real.
 *
 * @module
 */

/** A timer handle. */
export type TimerId = ReturnType<typeof setTimeout>;

/** Schedules callbacks and tells the time. */
export interface Clock {
  setTimeout(callback: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId | undefined): void;
  /** Epoch ms: the time of timers and of every stamp a call records. */
  now(): number;
  /**
   * A monotonic ms count for intervals measured against real sockets (playout, latency): audio
   * plays in real time, so this one is real even where `now` is not.
   */
  monotonic(): number;
}

/** The real clock. */
export const systemClock: Clock = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (id) => clearTimeout(id),
  now: () => Date.now(),
  monotonic: () => performance.now(),
};
