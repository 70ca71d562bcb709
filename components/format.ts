/** Small formatters for the admin pages (server-only). */

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

/** `$0.0123`. */
export function formatCost(usd: number): string {
  return `$${usd.toFixed(4)}`;
}

/** `420 ms`, or a dash. */
export function formatMs(ms: number | null): string {
  return ms === null ? "—" : `${Math.round(ms)} ms`;
}
