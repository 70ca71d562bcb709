/**
 * An append-only list of things that happened (frames, events) that tests can wait on: waiting is
 * on the event itself, guarded by a timeout, never a sleep.
 */

/** A waiter for an entry matching a predicate. */
interface Waiter<T> {
  predicate: (item: T) => boolean;
  resolve: (item: T) => void;
}

/** Recorded items plus `waitFor`. */
export class EventLog<T> {
  readonly items: T[] = [];
  #waiters: Waiter<T>[] = [];

  /** Records `item` and wakes the waiters it satisfies. */
  push(item: T): void {
    this.items.push(item);
    if (this.#waiters.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.predicate(item)) return true;
      w.resolve(item);
      return false;
    });
  }

  /** Items matching `predicate`. */
  filter(predicate: (item: T) => boolean): T[] {
    return this.items.filter(predicate);
  }

  /**
   * The first item (already recorded or still to come, from index `from`) matching `predicate`;
   * rejects after `timeoutMs` naming `what`.
   */
  waitFor(
    predicate: (item: T) => boolean,
    options: { what: string; timeoutMs?: number; from?: number },
  ): Promise<T> {
    const found = this.items.slice(options.from ?? 0).find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${options.what}`));
      }, options.timeoutMs ?? 5000);
      const waiter: Waiter<T> = {
        predicate,
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      this.#waiters.push(waiter);
    });
  }
}

/**
 * Resolves once `condition()` holds, checking every few ms (for state that no event announces,
 * e.g. inside the service); rejects after `timeoutMs` naming `what`.
 */
export function waitUntil(
  condition: () => boolean,
  options: { what: string; timeoutMs?: number },
): Promise<void> {
  const deadline = performance.now() + (options.timeoutMs ?? 5000);
  return new Promise((resolve, reject) => {
    const check = () => {
      if (condition()) return resolve();
      if (performance.now() > deadline) {
        return reject(new Error(`timed out waiting for ${options.what}`));
      }
      setTimeout(check, 5);
    };
    check();
  });
}
