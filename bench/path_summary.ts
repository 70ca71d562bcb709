/**
 * One table of every call path, across the benchmark scripts of a `deno task bench` run: each of
 * realtime_bench.ts (Media Streams on Realtime and on GPT-Live) and sip_bench.ts (SIP on either
 * surface) measures its paths at the same number of concurrent calls and records a row here;
 * bench/run.ts prints them together at the end. Rows go, one JSON line each, to the file named
 * by `BENCH_PATHS_FILE` (set by bench/run.ts); a script run on its own prints its own tables only.
 *
 * @module
 */

/** One call path under load, as the summary shows it. */
export interface PathRow {
  path: string;
  calls: number;
  /** The service's CPU over the measured window, % of one core, divided by the calls. */
  cpuPctPerCall: number;
  /** RSS growth per call with every call open (peak, for the media paths), KB. */
  rssKbPerCall: number;
  /** The p99 latency the service adds, ms (what is measured is in `what`). */
  addedP99Ms: number;
  /** What the latency is, and what the CPU window held. */
  what: string;
}

/** Records `row` for the run's summary (nothing when the script runs on its own). */
export async function recordPath(row: PathRow): Promise<void> {
  const file = Deno.env.get("BENCH_PATHS_FILE");
  if (!file) return;
  await Deno.writeTextFile(file, JSON.stringify(row) + "\n", { append: true });
}

/** The summary table of the rows recorded in `file` (empty when there are none). */
export async function pathTable(file: string): Promise<string[]> {
  const text = await Deno.readTextFile(file).catch(() => "");
  const rows = text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as PathRow);
  if (rows.length === 0) return [];
  const lines = [
    "| path | calls | service CPU per call (% of one core) | RSS per call | p99 added latency |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((r) =>
      `| ${r.path} | ${r.calls} | ${r.cpuPctPerCall.toFixed(3)} % | ` +
      `${r.rssKbPerCall.toFixed(0)} KB | ${r.addedP99Ms.toFixed(2)} ms |`
    ),
    ...rows.map((r) => `  ${r.path}: ${r.what}`),
  ];
  return lines;
}
