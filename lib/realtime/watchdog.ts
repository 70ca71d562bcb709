/**
 * The realtime call's once-a-second check, as a pure verdict: a Twilio socket silent for
 * `TWILIO_IDLE_TIMEOUT_SECONDS` is dead (Twilio sends audio 50 times a second, even in
 * silence); an OpenAI session that owes a response and sends nothing for `OPENAI_TIMEOUT_MS` has
 * stalled; a session near its time limit is renewed at a quiet moment.
 *
 * @module
 */

/** What the watchdog looks at. */
export interface WatchdogState {
  now: number;
  lastTwilioAt: number;
  idleTimeoutMs: number;
  upstreamReady: boolean;
  /** The model owes the call a response. */
  owed: boolean;
  lastUpstreamAt: number;
  stallTimeoutMs: number;
  /** When the upstream session became ready, and after how long it should be renewed. */
  readyAt: number;
  renewAfterMs: number;
  /** Nobody speaks, nothing plays, no tool runs: a session can change without cutting anyone off. */
  quiet: boolean;
}

/** What to do now, if anything. */
export type WatchdogVerdict = "idle" | "stalled" | "renew" | null;

/** The verdict for `s` (the first that applies, in that order). */
export function watchdogVerdict(s: WatchdogState): WatchdogVerdict {
  if (s.now - s.lastTwilioAt > s.idleTimeoutMs) return "idle";
  if (s.upstreamReady && s.owed && s.now - s.lastUpstreamAt > s.stallTimeoutMs) return "stalled";
  if (s.upstreamReady && s.now - s.readyAt >= s.renewAfterMs && s.quiet) return "renew";
  return null;
}
