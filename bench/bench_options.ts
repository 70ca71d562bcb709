/**
 * The options every benchmark reads: one parser, so `deno task bench` can hand the same
 * arguments to all of them (`--quick`, or one benchmark's own `--calls`) without one refusing
 * another's. Each benchmark names its numeric options with their full and `--quick` values; an
 * option that belongs to another benchmark is ignored, one that belongs to none is an error.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** A numeric option of one benchmark: its value in a full run and in a `--quick` one. */
export interface BenchOption {
  full: number;
  quick: number;
}

/** Every option some benchmark in bench/ reads (so a typo is refused, not ignored). */
const KNOWN = [
  "frames",
  "rounds",
  "calls",
  "turns",
  "tokens",
  "token-delay",
  "sequential",
  "warm",
  "seconds",
  "settle",
  "barge-calls",
  "big-calls",
  "minutes",
  "runs",
] as const;

/** One known option's name. */
export type OptionName = typeof KNOWN[number];

/**
 * Reads `args` (default `Deno.args`): each option of `spec` as a number (its `quick` value under
 * `--quick` unless given), and whether `--quick` was asked for.
 */
export function benchOptions<K extends OptionName>(
  spec: Record<K, BenchOption>,
  args: string[] = Deno.args,
): Record<K, number> & { quick: boolean } {
  const options = Object.fromEntries(KNOWN.map((name) => [name, { type: "string" as const }]));
  const { values } = parseArgs({
    args,
    options: { ...options, quick: { type: "boolean", default: false } },
    strict: true,
  });
  const quick = values.quick === true;
  const out = { quick } as Record<K, number> & { quick: boolean };
  for (const [name, option] of Object.entries(spec) as [K, BenchOption][]) {
    const given = (values as Record<string, unknown>)[name];
    const value = typeof given === "string" ? Number(given) : quick ? option.quick : option.full;
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`--${name} must be a number ≥ 0, got ${JSON.stringify(given)}`);
    }
    (out as Record<string, number>)[name] = value;
  }
  return out;
}
