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
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (id) => clearTimeout(id),
  now: () => Date.now(),
};
