/** A per-turn latency bar chart as inline SVG, rendered on the server (no script). */

import type { TurnLatency } from "../lib/records/call_store.ts";

const WIDTH = 720;
const HEIGHT = 200;
const LEFT = 64;
const BOTTOM = 24;
const TOP = 8;
/** Turns slower than this are drawn in the warning colour. */
const SLOW_MS = 1500;

/** One bar per agent turn that produced output; the y axis in ms. */
export function LatencyChart({ latencies }: { latencies: TurnLatency[] }) {
  const turns = latencies.filter((l) => l.latencyMs !== null);
  if (turns.length === 0) return <p class="empty">No turn latency was recorded.</p>;
  const max = niceCeiling(Math.max(...turns.map((t) => t.latencyMs!)));
  const plotW = WIDTH - LEFT - 8;
  const plotH = HEIGHT - TOP - BOTTOM;
  const slot = plotW / turns.length;
  const barW = Math.max(2, Math.min(40, slot * 0.7));
  const ticks = [0, max / 4, max / 2, (3 * max) / 4, max];
  const y = (ms: number) => TOP + plotH - (ms / max) * plotH;
  return (
    <svg
      class="chart latency"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={`Latency of ${turns.length} turns, at most ${max} ms`}
    >
      {ticks.map((t) => (
        <g key={t}>
          <line x1={LEFT} x2={WIDTH - 8} y1={y(t)} y2={y(t)} />
          <text x={LEFT - 6} y={y(t) + 4} text-anchor="end">
            {`${Math.round(t)}${t === max ? " ms" : ""}`}
          </text>
        </g>
      ))}
      {turns.map((t, i) => {
        const ms = t.latencyMs!;
        const x = LEFT + i * slot + (slot - barW) / 2;
        return (
          <rect
            key={t.seq}
            class={`bar${ms > SLOW_MS ? " slow" : ""}`}
            x={round(x)}
            y={round(y(ms))}
            width={round(barW)}
            height={round(Math.max(1, (ms / max) * plotH))}
          >
            <title>{`turn ${i + 1}: ${ms} ms (${t.outcome})`}</title>
          </rect>
        );
      })}
      <text x={LEFT} y={HEIGHT - 6}>turn 1</text>
      {turns.length > 1
        ? <text x={WIDTH - 8} y={HEIGHT - 6} text-anchor="end">{`turn ${turns.length}`}</text>
        : null}
    </svg>
  );
}

/** The smallest of 1, 2 or 5 × 10ⁿ at or above `ms` (at least 100). */
function niceCeiling(ms: number): number {
  const value = Math.max(100, ms);
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
