/**
 * `deno task bench`: runs every benchmark script in bench/ one after another, each in its own
 * process so one cannot skew the next, each with the same arguments (`--quick` for a short run;
 * see bench/bench_options.ts). `bench/realtime_profile.ts` (a heap and CPU profile
 * of the service under load), `bench/relay_profile.ts` (memory over relay calls one after another)
 * and `bench/kv_probe.ts` are run on their own, when wanted. At the end, one table of every call
 * path measured in the run (bench/path_summary.ts): the service's CPU and RSS per call and the p99
 * latency it adds, Media Streams on either engine and SIP.
 *
 * @module
 */

import { pathTable } from "./path_summary.ts";

const scripts = [
  "parse_bench.ts",
  "relay_bench.ts",
  "realtime_bench.ts",
  "socket_bench.ts",
  "soak_bench.ts",
  "sip_bench.ts",
];
const args = Deno.args;
const pathsFile = await Deno.makeTempFile({ prefix: "callbridge-bench-paths-" });
let failed = false;
const started = performance.now();
for (const script of scripts) {
  const path = new URL(script, import.meta.url).pathname;
  try {
    await Deno.stat(path);
  } catch {
    console.log(`(skipping ${script}: not present)`);
    continue;
  }
  console.log(`\n=== ${script} ===`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path, ...args],
    env: { BENCH_PATHS_FILE: pathsFile },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) failed = true;
}
const paths = await pathTable(pathsFile);
await Deno.remove(pathsFile);
if (paths.length > 0) {
  console.log("\nEvery call path in this run (each at its script's number of concurrent calls):");
  for (const line of paths) console.log(line);
}
console.log(`\nAll benchmarks: ${((performance.now() - started) / 60_000).toFixed(1)} minutes`);
Deno.exit(failed ? 1 : 0);
