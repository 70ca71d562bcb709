/**
 * A wake-up signal for a loop that waits for news or a timeout, such as an event stream that
 * writes a keepalive when nothing happened: `wake()` ends the current (or the next) `wait`.
 *
 * @module
 */

/** One waiter's wake-up; a `wake()` with nobody waiting is kept for the next `wait`. */
export class Wakeup {
  #resolve: ((timedOut: boolean) => void) | null = null;
  #pending = false;

  /** Ends the current wait (or the next one) early. */
  wake(): void {
    const resolve = this.#resolve;
    this.#resolve = null;
    if (resolve) resolve(false);
    else this.#pending = true;
  }

  /** Resolves false when woken, true when `ms` passed first; its timer is always cleared. */
  async wait(ms: number): Promise<boolean> {
    if (this.#pending) {
      this.#pending = false;
      return false;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await new Promise<boolean>((resolve) => {
        this.#resolve = resolve;
        timer = setTimeout(() => {
          this.#resolve = null;
          resolve(true);
        }, ms);
      });
    } finally {
      clearTimeout(timer);
    }
  }
}
