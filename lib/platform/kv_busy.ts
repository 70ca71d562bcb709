/**
 * A local Deno KV file shared by several processes (replicas on one host) can answer a write
 * with "database is locked" when another process writes at the same moment: SQLite lets one
 * writer in at a time and Deno's KV does not wait for the lock. {@link retryWhenBusy} makes one
 * `Deno.Kv` handle retry such a write (and reads) a few times after a short, growing pause, so a
 * replica's routine write (a presence renewal) never fails another's page or call record.
 *
 * @module
 */

/** Attempts of one operation before its "locked" error is let through. */
const ATTEMPTS = 8;
const FIRST_PAUSE_MS = 2;

/** Whether `err` is SQLite's "the other process is writing" answer. */
export function isBusyError(err: unknown): boolean {
  return /database (table )?is locked|SQLITE_BUSY|DatabaseBusy/i.test(String(err));
}

/** Runs `operation`, again after a pause while it fails with a busy error. */
export async function whileBusy<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await operation();
    } catch (err) {
      if (attempt >= ATTEMPTS || !isBusyError(err)) throw err;
      const pause = FIRST_PAUSE_MS * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, pause + Math.random() * pause));
    }
  }
}

/**
 * `kv` with its single-key reads and writes and its atomic commits retried while busy (a list's
 * pages are not: a reader is never refused by a writer in SQLite's WAL mode). Returns `kv`.
 */
export function retryWhenBusy(kv: Deno.Kv): Deno.Kv {
  const get = kv.get.bind(kv);
  const getMany = kv.getMany.bind(kv);
  const set = kv.set.bind(kv);
  const del = kv.delete.bind(kv);
  const enqueue = kv.enqueue.bind(kv);
  const atomic = kv.atomic.bind(kv);
  Object.assign(kv, {
    get: (...args: Parameters<Deno.Kv["get"]>) => whileBusy(() => get(...args)),
    getMany: (...args: Parameters<Deno.Kv["getMany"]>) => whileBusy(() => getMany(...args)),
    set: (...args: Parameters<Deno.Kv["set"]>) => whileBusy(() => set(...args)),
    delete: (...args: Parameters<Deno.Kv["delete"]>) => whileBusy(() => del(...args)),
    enqueue: (...args: Parameters<Deno.Kv["enqueue"]>) => whileBusy(() => enqueue(...args)),
    atomic: () => {
      const op = atomic();
      const commit = op.commit.bind(op);
      op.commit = () => whileBusy(commit);
      return op;
    },
  });
  return kv;
}
