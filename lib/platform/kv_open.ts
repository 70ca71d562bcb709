/**
 * Opening the service's Deno KV at `KV_PATH`: Deno's default database when empty, a local file
 * (its folder created; the handle retries while another process holds the file's lock), `:memory:`,
 * or a KV Connect URL. The service opens it at start-up; `deno task setup-number` opens an
 * existing one only, to see the agents created from the pages.
 *
 * @module
 */

import { ConfigError } from "./config.ts";
import { retryWhenBusy } from "./kv_busy.ts";

/** Options of {@link openKv}. */
export interface OpenKvOptions {
  /** false: a local file that does not exist yet is not created (null is returned). */
  create?: boolean;
}

/** Opens KV at `path`; a path that cannot be opened is a {@link ConfigError} naming `KV_PATH`. */
export async function openKv(path: string, options?: { create?: true }): Promise<Deno.Kv>;
export async function openKv(path: string, options: OpenKvOptions): Promise<Deno.Kv | null>;
export async function openKv(path: string, options: OpenKvOptions = {}): Promise<Deno.Kv | null> {
  if (!path) return await Deno.openKv();
  const remote = /^https?:\/\//.test(path);
  const local = !remote && path !== ":memory:";
  try {
    if (local && options.create === false && !await exists(path)) return null;
    if (local) {
      const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
      if (dir) await Deno.mkdir(dir, { recursive: true });
    }
    const kv = await Deno.openKv(path);
    // A local file may be shared by replicas: a write meeting another's waits its turn.
    return local ? retryWhenBusy(kv) : kv;
  } catch (err) {
    const hint = err instanceof Deno.errors.NotCapable
      ? "; the service may write only under data/ (deno.json's permission sets)"
      : "";
    throw new ConfigError([`KV_PATH: cannot open "${path}" (${(err as Error).message})${hint}`]);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
