/**
 * The process's lifecycle: running, then draining after SIGTERM/SIGINT (no new calls; live ones
 * may finish), so a deploy or scale-down never cuts a caller off mid-sentence.
 *
 * @module
 */

/** Whether this process still takes new calls. */
export class Lifecycle {
  #drainingSince: number | null = null;

  get draining(): boolean {
    return this.#drainingSince !== null;
  }

  /** When draining started (epoch ms), or null. */
  get drainingSince(): number | null {
    return this.#drainingSince;
  }

  /** Stops taking new calls. */
  startDrain(): void {
    this.#drainingSince ??= Date.now();
  }
}
