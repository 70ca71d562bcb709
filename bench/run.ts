/**
 * `deno task bench`: runs every benchmark script in bench/ one after another, each in its own
 * process so one cannot skew the next.
 */

const scripts = ["parse_bench.ts", "relay_bench.ts", "realtime_bench.ts", "soak_bench.ts"];
const args = Deno.args;
let failed = false;
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
Deno.exit(failed ? 1 : 0);
