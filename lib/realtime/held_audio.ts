/**
 * Caller audio held while no upstream session is ready (connecting, reconnecting, or the agent's
 * engine or model not yet known), bounded, and handed over in order: to the session once ready,
 * or to the session of another engine that replaces it.
 *
 * @module
 */

/** Longest hold of caller audio while no session is ready: 750 × 20 ms = 15 s. */
export const MAX_PENDING_FRAMES = 750;

/** The caller's held frames (base64 µ-law payloads), oldest first, at most {@link MAX_PENDING_FRAMES}. */
export class HeldAudio {
  #frames: string[] = [];

  /** How many frames are held. */
  get size(): number {
    return this.#frames.length;
  }

  /** Holds `payload`; false (and dropped) when the hold is full. */
  push(payload: string): boolean {
    if (this.#frames.length >= MAX_PENDING_FRAMES) return false;
    this.#frames.push(payload);
    return true;
  }

  /** Everything held, oldest first; the hold is emptied. */
  take(): string[] {
    const frames = this.#frames;
    this.#frames = [];
    return frames;
  }

  /** Frames held elsewhere, kept ahead of what is held here; the newest within the limit stay. */
  prepend(frames: readonly string[]): void {
    this.#frames = [...frames, ...this.#frames].slice(-MAX_PENDING_FRAMES);
  }

  /** Forgets everything held. */
  clear(): void {
    this.#frames = [];
  }
}
