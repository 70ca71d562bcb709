/** Small formatters for the admin pages (server-only). */

import { formatUsd } from "../lib/platform/model_prices.ts";

/** `2025-01-31 14:05:09` in UTC. */
export function formatTime(ms: number | null): string {
  if (ms === null) return "—";
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** `1:05` (minutes:seconds). */
export function formatDuration(ms: number | null): string {
  if (ms === null || ms < 0) return "—";
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Dollars to four significant digits (`$0.0008184`); a dash when the model has no price. */
export function formatCost(usd: number | null): string {
  return formatUsd(usd);
}

/** `420 ms`, or a dash. */
export function formatMs(ms: number | null): string {
  return ms === null ? "—" : `${Math.round(ms)} ms`;
}
