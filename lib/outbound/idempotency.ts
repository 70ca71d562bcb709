/**
 * `Idempotency-Key` for `POST /api/calls`: the first request with a key claims it in Deno KV with
 * an atomic check (so two instances racing with the same key cannot both win), places its call
 * and stores its answer for 24 hours; a retry with the key gets that answer back and places no
 * second call, whichever instance it reaches. A retry while the first is still placing waits for
 * its answer. A request that failed (nothing placed) releases the key, so it can be retried; the
 * same key with another body is refused (422). A claim pending past {@link PENDING_MS} is taken
 * over (its placer died); the placer it was taken from then writes and releases nothing, so it
 * cannot undo the new claim.
 *
 * KV key: `["idempotency", "api_calls", sha256(key)]` → {@link IdempotencyEntry}, `expireIn` 24 h.
 *
 * @module
 */

import { type Clock, systemClock } from "../platform/clock.ts";

/** How long a key's answer is kept. */
const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Longest a claim may stay pending (the placing instance died): then it can be taken over. */
const PENDING_MS = 60_000;
const PREFIX = ["idempotency", "api_calls"];

/** A key's state: being placed, or placed with its answer. */
export type IdempotencyEntry =
  | { state: "pending"; request: string; at: number }
  | { state: "done"; request: string; at: number; status: number; body: unknown };

/** What a claim found. */
export type Claim =
  | { kind: "claimed"; slot: IdempotencySlot }
  | { kind: "replay"; status: number; body: unknown }
  | { kind: "mismatch" }
  | { kind: "busy" };

/** Options of {@link claimIdempotencyKey}. */
export interface ClaimOptions {
  /** How long to wait for a pending first request's answer. */
  waitMs?: number;
  /** Between looks at a pending claim. */
  pollMs?: number;
  /** The time, and the timer between looks (tests drive a fake one). */
  clock?: Pick<Clock, "now" | "setTimeout">;
}

/** `Idempotency-Key`'s value as accepted: 1 to 255 visible ASCII characters. */
export function validIdempotencyKey(key: string): boolean {
  return /^[\x21-\x7e]{1,255}$/.test(key);
}

/**
 * Claims `key` for a request whose body is `body` (as sent): `claimed` (go on, then
 * {@link IdempotencySlot.complete} or {@link IdempotencySlot.release}), `replay` (answer with
 * that), `mismatch` (the key was used with another body) or `busy` (still placing after `waitMs`).
 */
export async function claimIdempotencyKey(
  kv: Deno.Kv,
  key: string,
  body: string,
  options: ClaimOptions = {},
): Promise<Claim> {
  const entryKey = [...PREFIX, await sha256(key)];
  const request = await sha256(body);
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  const deadline = now() + (options.waitMs ?? 10_000);
  for (;;) {
    const current = await kv.get<IdempotencyEntry>(entryKey);
    const entry = current.value;
    // A dead placer's claim can be taken over; an answer past its 24 h (expireIn is best
    // effort) no longer counts.
    const stale = entry !== null &&
      now() - entry.at > (entry.state === "pending" ? PENDING_MS : IDEMPOTENCY_TTL_MS);
    if (!entry || stale) {
      const pending: IdempotencyEntry = { state: "pending", request, at: now() };
      const won = await kv.atomic().check(current)
        .set(entryKey, pending, { expireIn: IDEMPOTENCY_TTL_MS })
        .commit();
      if (won.ok) {
        const claim = { key: entryKey, versionstamp: won.versionstamp };
        const slot = new IdempotencySlot(kv, claim, { request, now });
        return { kind: "claimed", slot };
      }
      continue; // another instance claimed it first: look again
    }
    if (entry.request !== request) return { kind: "mismatch" };
    if (entry.state === "done") return { kind: "replay", status: entry.status, body: entry.body };
    if (now() >= deadline) return { kind: "busy" };
    await new Promise<void>((resolve) => clock.setTimeout(resolve, options.pollMs ?? 100));
  }
}

/** A claimed key: store the answer once the call is placed, or release it when nothing was. */
export class IdempotencySlot {
  constructor(
    private readonly kv: Deno.Kv,
    /** The key and the version this claim wrote: it acts only while the entry is still that. */
    private readonly claim: { key: Deno.KvKey; versionstamp: string },
    /** The request's digest, and the clock the answer is stamped with. */
    private readonly written: { request: string; now: () => number },
  ) {}

  /**
   * Keeps `body` (answered with `status`) as the key's answer for 24 hours; false when the claim
   * had been taken over meanwhile (the new claimer answers instead).
   */
  async complete(status: number, body: unknown): Promise<boolean> {
    const done: IdempotencyEntry = {
      state: "done",
      request: this.written.request,
      at: this.written.now(),
      status,
      body,
    };
    const result = await this.kv.atomic().check(this.claim)
      .set(this.claim.key, done, { expireIn: IDEMPOTENCY_TTL_MS })
      .commit();
    return result.ok;
  }

  /** Nothing was placed: a retry with the key may try again (unless the claim was taken over). */
  async release(): Promise<void> {
    await this.kv.atomic().check(this.claim).delete(this.claim.key).commit();
  }
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
