/**
 * Counting events per key in a sliding window, for the limits that protect the service from
 * abuse: outbound calls per API token, failed admin logins per client. Kept in the process (each
 * instance counts its own share), bounded in keys so a flood of distinct keys cannot grow it.
 *
 * @module
 */

/** Options of {@link RateLimiter}. */
export interface RateLimitOptions {
  /** Events allowed per key within `windowMs`. */
  limit: number;
  windowMs: number;
  /** Keys tracked at most; the oldest are forgotten first. */
  maxKeys?: number;
  now?: () => number;
}

/** A sliding-window counter per key. */
export class RateLimiter {
  readonly #events = new Map<string, number[]>();
  readonly #options: Required<RateLimitOptions>;

  constructor(options: RateLimitOptions) {
    this.#options = { maxKeys: 10_000, now: Date.now, ...options };
  }

  /** Milliseconds until `key` may have another event, or 0 when it may now. */
  retryAfterMs(key: string): number {
    const times = this.#recent(key);
    if (times.length < this.#options.limit) return 0;
    return Math.max(1, times[0] + this.#options.windowMs - this.#options.now());
  }

  /** Records an event for `key`. */
  hit(key: string): void {
    const times = this.#recent(key);
    times.push(this.#options.now());
    this.#events.delete(key); // re-inserted last: the map stays in order of last use
    this.#events.set(key, times);
    if (this.#events.size > this.#options.maxKeys) {
      this.#events.delete(this.#events.keys().next().value!);
    }
  }

  /** Forgets `key`'s events (e.g. after a successful login). */
  reset(key: string): void {
    this.#events.delete(key);
  }

  #recent(key: string): number[] {
    const since = this.#options.now() - this.#options.windowMs;
    const times = (this.#events.get(key) ?? []).filter((t) => t > since);
    return times;
  }
}
