/**
 * Whether a new call may start: not while draining, and not over `MAX_CONCURRENT_CALLS`. A call
 * turned away hears a polite "all lines are busy" (webhook) or is refused (socket); every refusal
 * is a limit hit, logged and counted.
 *
 * @module
 */

import type { Logger } from "../platform/log.ts";
import { BUSY } from "./phrases.ts";
import { sayAndHangUpTwiml } from "../protocols/twiml.ts";

/** What admission reads: whether the process drains, how many calls are live, the limit. */
export interface AdmissionState {
  lifecycle: { readonly draining: boolean };
  registry: { readonly size: number };
  config: { limits: { maxConcurrentCalls: number } };
}

/** Where limit hits are counted (for `/metrics`) and logged. */
export interface LimitLog {
  limitHits: Map<string, number>;
  log: Logger;
}

/** Why a call is turned away, or null when it may start. */
export function refuseCall(state: AdmissionState): "draining" | "max_concurrent_calls" | null {
  if (state.lifecycle.draining) return "draining";
  if (state.registry.size >= state.config.limits.maxConcurrentCalls) {
    return "max_concurrent_calls";
  }
  return null;
}

/** Logs (and counts) a limit that was hit. */
export function limitHit(
  sink: LimitLog,
  limit: string,
  fields: Record<string, unknown> = {},
): void {
  sink.limitHits.set(limit, (sink.limitHits.get(limit) ?? 0) + 1);
  sink.log.warn("limit.hit", { limit, ...fields });
}

/** The TwiML for a call turned away. */
export function busyTwiml(): string {
  return sayAndHangUpTwiml(BUSY);
}
