/**
 * Bounding a wait on something that takes no AbortSignal (a KV write, an SDK call): the race
 * against `AbortSignal.timeout`, a platform timer that keeps no process or test alive.
 *
 * @module
 */

/** `promise`, or a rejection naming `what` once `ms` have passed. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const signal = AbortSignal.timeout(ms);
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      signal.addEventListener(
        "abort",
        () => reject(new Error(`${what}: no answer within ${ms} ms`)),
        { once: true },
      );
    }),
  ]);
}
