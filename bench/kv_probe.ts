/**
 * Does the KV backend block the event loop? The same writes (what call records do: an atomic
 * set of a record and its time index, `expireIn` a day) from `--calls` writers, each once a
 * second, on `KV_PATH=:memory:` and on a temporary file, alternately in one process: write
 * latency, and how late a 1 ms timer fires meanwhile (the event loop's lag).
 * Usage: deno run -A bench/kv_probe.ts [--quick] [--calls 200] [--seconds 6]
 *
 * @module
 */

import { benchOptions } from "./bench_options.ts";
import { percentile } from "./service_process.ts";

const options = benchOptions({
  calls: { full: 200, quick: 50 },
  seconds: { full: 6, quick: 2 },
});

/** Writes on the KV at `path` from `--calls` writers for `--seconds`; a line of what it saw. */
async function probe(path: string): Promise<string> {
  const kv = await Deno.openKv(path);
  const lags: number[] = [];
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    lags.push(now - last - 1);
    last = now;
  }, 1);
  const writes: number[] = [];
  const until = performance.now() + options.seconds * 1000;
  await Promise.all(Array.from({ length: options.calls }, async (_, writer) => {
    while (performance.now() < until) {
      const t0 = performance.now();
      const id = crypto.randomUUID();
      await kv.atomic()
        .set(["call", id], { id, writer, text: "x".repeat(500) }, { expireIn: 86_400_000 })
        .set(["call_by_time", Date.now(), id], id, { expireIn: 86_400_000 })
        .commit();
      writes.push(performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }));
  clearInterval(ticker);
  kv.close();
  return `${path === ":memory:" ? "in memory" : "a file"}: ${writes.length} writes, p50 ${
    percentile(writes, 50)
  } ms, p99 ${percentile(writes, 99)} ms; event loop lag p99 ${percentile(lags, 99)} ms, max ${
    Math.max(...lags).toFixed(1)
  } ms`;
}

const dir = await Deno.makeTempDir({ prefix: "callbridge-kv-probe-" });
for (let round = 0; round < 2; round++) {
  console.log(await probe(":memory:"));
  console.log(await probe(`${dir}/kv-${round}.sqlite`));
}
await Deno.remove(dir, { recursive: true });
