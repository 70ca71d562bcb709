/**
 * `deno task bench`: runs every benchmark script in bench/ one after another, each in its own
 * process so one cannot skew the next, each with the same arguments (`--quick` for a short run;
 * see bench/bench_options.ts). `bench/realtime_profile.ts` (a heap and CPU profile
 * of the service under load), `bench/relay_profile.ts` (memory over relay calls one after another)
 * and `bench/kv_probe.ts` are run on their own, when wanted.
 *
 * @module
 */

const scripts = [
  "parse_bench.ts",
  "relay_bench.ts",
  "realtime_bench.ts",
  "socket_bench.ts",
  "soak_bench.ts",
  "sip_bench.ts",
];
const args = Deno.args;
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
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) failed = true;
}
console.log(`\nAll benchmarks: ${((performance.now() - started) / 60_000).toFixed(1)} minutes`);
Deno.exit(failed ? 1 : 0);
