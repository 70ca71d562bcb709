/**
 * Whether a new call may start: not while draining, and not over `MAX_CONCURRENT_CALLS`. A call
 * turned away hears a polite "all lines are busy" (webhook) or is refused (socket); every refusal
 * is a limit hit, logged and counted.
 *
 * @module
 */

import type { Services } from "../services.ts";
import { sayAndHangUpTwiml } from "./twiml.ts";

/** Spoken when a call reaches `MAX_CALL_SECONDS`. */
export const TIME_LIMIT = "I'm sorry, we've reached the time limit for this call. Goodbye.";
/** Spoken when a call cannot be taken. */
export const BUSY =
  "All our lines are busy right now. Please call again in a few minutes. Goodbye.";

/** Why a call is turned away, or null when it may start. */
export function refuseCall(services: Services): "draining" | "max_concurrent_calls" | null {
  if (services.lifecycle.draining) return "draining";
  if (services.registry.size >= services.config.limits.maxConcurrentCalls) {
    return "max_concurrent_calls";
  }
  return null;
}

/** Logs (and counts) a limit that was hit. */
export function limitHit(
  services: Services,
  limit: string,
  fields: Record<string, unknown> = {},
): void {
  services.limitHits.set(limit, (services.limitHits.get(limit) ?? 0) + 1);
  services.log.warn("limit.hit", { limit, ...fields });
}

/** The TwiML for a call turned away. */
export function busyTwiml(): string {
  return sayAndHangUpTwiml(BUSY);
}
