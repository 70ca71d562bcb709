/**
 * watchdogVerdict: a Twilio socket silent for more than the idle timeout is `idle`; a ready
 * session that owes a response and sends nothing for more than the stall timeout is `stalled`;
 * a ready session at or past its renewal age is `renew`ed, but only when the call is quiet; the
 * first that applies wins, in that order; otherwise no verdict. Boundaries are pinned to the ms.
 */

import assert from "node:assert/strict";
import { type WatchdogState, watchdogVerdict } from "./watchdog.ts";

const NOW = 10_000_000;

/** A healthy call: Twilio just sent a frame, the session is young, nothing is owed. */
const HEALTHY: WatchdogState = {
  now: NOW,
  lastTwilioAt: NOW - 20,
  idleTimeoutMs: 30_000,
  upstreamReady: true,
  owed: false,
  lastUpstreamAt: NOW - 5_000,
  stallTimeoutMs: 10_000,
  readyAt: NOW - 60_000,
  // OPENAI_REALTIME_SESSION_SECONDS 3600 less OPENAI_REALTIME_RENEW_SECONDS 300.
  renewAfterMs: (3600 - 300) * 1000,
  quiet: true,
};

const verdict = (change: Partial<WatchdogState>) => watchdogVerdict({ ...HEALTHY, ...change });

Deno.test("a healthy call: no verdict", () => {
  assert.equal(watchdogVerdict(HEALTHY), null);
});

Deno.test("idle: Twilio silent for more than the idle timeout, whatever the session does", () => {
  assert.equal(verdict({ lastTwilioAt: NOW - 30_000 }), null); // exactly the timeout: not yet
  assert.equal(verdict({ lastTwilioAt: NOW - 30_001 }), "idle");
  assert.equal(verdict({ lastTwilioAt: NOW - 30_001, upstreamReady: false }), "idle");
});

Deno.test("stalled: a ready session owing a response, silent past the stall timeout", () => {
  assert.equal(verdict({ owed: true, lastUpstreamAt: NOW - 10_000 }), null); // exactly: not yet
  assert.equal(verdict({ owed: true, lastUpstreamAt: NOW - 10_001 }), "stalled");
  // Silence is no stall when nothing is owed, nor before the session is ready.
  assert.equal(verdict({ owed: false, lastUpstreamAt: NOW - 600_000 }), null);
  assert.equal(verdict({ owed: true, lastUpstreamAt: NOW - 600_000, upstreamReady: false }), null);
});

Deno.test("renew: a ready session from its renewal age on, only at a quiet moment", () => {
  assert.equal(verdict({ readyAt: NOW - 3_299_999 }), null);
  assert.equal(verdict({ readyAt: NOW - 3_300_000 }), "renew"); // exactly the age: renewed
  assert.equal(verdict({ readyAt: NOW - 3_300_000, quiet: false }), null);
  assert.equal(verdict({ readyAt: NOW - 3_300_000, upstreamReady: false }), null);
});

Deno.test("the first verdict that applies wins: idle, then stalled, then renew", () => {
  const all = {
    lastTwilioAt: NOW - 30_001,
    owed: true,
    lastUpstreamAt: NOW - 10_001,
    readyAt: NOW - 3_300_000,
  };
  assert.equal(verdict(all), "idle");
  assert.equal(verdict({ ...all, lastTwilioAt: NOW }), "stalled");
  // quiet and owed do not go together in a call, but the order holds regardless.
  assert.equal(verdict({ ...all, lastTwilioAt: NOW, lastUpstreamAt: NOW }), "renew");
});
