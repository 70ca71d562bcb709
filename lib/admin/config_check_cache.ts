/**
 * The `/config` checks, cached in Deno KV for a minute so loading the page does not call OpenAI
 * and Twilio each time, and shared by the instances whose configuration is the same: the cache key
 * is a digest of the configuration (secrets included, so rotating a key is seen at once; the
 * digest reveals none of them). "Check again" runs them now and replaces the entry.
 *
 * KV key: `["config_checks", digest]` → {@link CachedChecks}, `expireIn` a minute.
 *
 * @module
 */

import type { ConfigCheck } from "./config_checks.ts";

/** Checks as cached: who ran them and when. */
export interface CachedChecks {
  checks: ConfigCheck[];
  /** When they ran (epoch ms). */
  at: number;
  /** The instance that ran them. */
  instance: string;
}

/** Options of {@link cachedConfigChecks}. */
export interface CheckCacheOptions {
  /** What the checks depend on (the configuration): equal values share an entry. */
  config: unknown;
  instance: string;
  /** Run them now, whatever the cache holds (the "check again" button). */
  fresh?: boolean;
  /** How long an entry serves (a minute). */
  maxAgeMs?: number;
  now?: () => number;
}

/** How long cached checks serve. */
export const CHECKS_MAX_AGE_MS = 60_000;
const PREFIX = "config_checks";

/** The checks from the cache when at most a minute old, else run by `run` and cached. */
export async function cachedConfigChecks(
  kv: Deno.Kv,
  run: () => Promise<ConfigCheck[]>,
  options: CheckCacheOptions,
): Promise<CachedChecks & { cached: boolean }> {
  const maxAgeMs = options.maxAgeMs ?? CHECKS_MAX_AGE_MS;
  const now = options.now ?? Date.now;
  const key = [PREFIX, await configDigest(options.config)];
  if (!options.fresh) {
    const hit = (await kv.get<CachedChecks>(key)).value;
    // expireIn is best effort: an entry past its minute is not used.
    if (hit && now() - hit.at < maxAgeMs) return { ...hit, cached: true };
  }
  const entry: CachedChecks = { checks: await run(), at: now(), instance: options.instance };
  await kv.set(key, entry, { expireIn: maxAgeMs });
  return { ...entry, cached: false };
}

/** A SHA-256 digest (hex) of `config` as JSON. */
async function configDigest(config: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(config));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
