/**
 * A manual clock for per-call timers (silence, DTMF, heard fallbacks): time moves only when a
 * test calls `tick`, while sockets and the event loop stay real.
 */

import type { Clock, TimerId } from "../../lib/platform/clock.ts";

/** A {@link Clock} driven by {@link FakeClock.tick}. */
export class FakeClock implements Clock {
  /** Starts at the real time, so what calls stamp with it reads as a date. */
  #now = Date.now();
  #next = 1;
  #timers = new Map<number, { at: number; ms: number; callback: () => void }>();

  setTimeout(callback: () => void, ms: number): TimerId {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), ms, callback });
    return id as unknown as TimerId;
  }

  clearTimeout(id: TimerId | undefined): void {
    if (id !== undefined) this.#timers.delete(id as unknown as number);
  }

  now(): number {
    return this.#now;
  }

  /** Real: the sockets and the emulated playout run in real time. */
  monotonic(): number {
    return performance.now();
  }

  /** Timers still scheduled. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Scheduled timers that were set for exactly `ms` (e.g. a 10 s silence timer). */
  scheduledFor(ms: number): number {
    return [...this.#timers.values()].filter((t) => t.ms === ms).length;
  }

  /** Moves time forward by `ms`, running due timers in order (including ones they schedule). */
  tick(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let due: [number, { at: number; ms: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].callback();
    }
    this.#now = target;
  }
}
