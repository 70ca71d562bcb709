/**
 * Where the relay path's memory goes over calls one after another (the relay benchmark's RSS is
 * not flat): the service (as `bench/profiled_main.ts`) takes `--warm` calls (RSS sampled along
 * them), a heap snapshot, `--calls` more, and another snapshot. It prints RSS and the JS heap
 * (after the full GC a snapshot runs) at both points, per call in between, and the JS heap kept
 * per call by constructor: what grows with every call that has ended.
 * Usage: deno run -A bench/relay_profile.ts [--quick] [--warm 100] [--calls 400]
 *
 * @module
 */

import { FakeOpenAI } from "../tests/fakes/fake_openai.ts";
import { benchOptions } from "./bench_options.ts";
import { oneRelayCall, RELAY_AUTH_TOKEN, relayServiceEnv } from "./relay_call.ts";
import { heapByConstructor, heapSnapshot, memoryUsage } from "./heap_profile.ts";
import { processStats, startServiceProcess } from "./service_process.ts";

const options = benchOptions({
  warm: { full: 100, quick: 30 },
  calls: { full: 400, quick: 100 },
});
const AUTH_TOKEN = RELAY_AUTH_TOKEN;

const fake = new FakeOpenAI();
fake.start();
const dir = await Deno.makeTempDir({ prefix: "callbridge-relay-profile-" });
const service = await startServiceProcess({ ...relayServiceEnv(fake), HEAP_SNAPSHOT_DIR: dir }, {
  entry: new URL("profiled_main.ts", import.meta.url).pathname,
  flags: [`--allow-write=${dir}`],
});

let counter = 0;
/** One call of one turn, hung up by the caller. */
async function oneCall(): Promise<void> {
  fake.script({ tokens: Array.from({ length: 10 }, () => `w${counter++} `) });
  await oneRelayCall(service.url, AUTH_TOKEN);
}

// Memory along the warm-up, before any snapshot (writing one grows RSS for good).
const rssAlong: string[] = [];
for (let i = 0; i < options.warm; i++) {
  await oneCall();
  if ((i + 1) % Math.max(1, Math.floor(options.warm / 10)) === 0) {
    const memory = await memoryUsage(service.pid, dir, rssAlong.length);
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
    rssAlong.push(
      `${i + 1}: ${mb(memory.rss)} / ${mb(memory.heapTotal)} / ${mb(memory.heapUsed)} / ${
        mb(memory.external)
      }`,
    );
  }
}
const first = await heapByConstructor(await heapSnapshot(service.pid, dir, 0));
const rss0 = (await processStats(service.pid)).rssKb;
for (let i = 0; i < options.calls; i++) await oneCall();
const second = await heapByConstructor(await heapSnapshot(service.pid, dir, 1));
const rss1 = (await processStats(service.pid)).rssKb;
await service.stop();
await fake.close();

const total = (heap: Map<string, [number, number]>) =>
  [...heap.values()].reduce((sum, [size]) => sum + size, 0);
const n = options.calls;
const diff = [...second].map(([key, [size, count]]) => {
  const [size0, count0] = first.get(key) ?? [0, 0];
  return { key, perCall: (size - size0) / n, count: (count - count0) / n };
}).sort((a, b) => b.perCall - a.perCall);
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
console.log(
  `Over the first ${options.warm} calls (calls: RSS / V8 heap committed / used / external MB):`,
);
for (const line of rssAlong) console.log(`  ${line}`);
console.log(
  `after ${options.warm} calls: RSS ${(rss0 / 1024).toFixed(1)} MB, JS heap ${mb(total(first))} MB`,
);
console.log(
  `after ${options.warm + n} calls: RSS ${(rss1 / 1024).toFixed(1)} MB, JS heap ${
    mb(total(second))
  } MB`,
);
console.log(
  `per call in between: RSS ${((rss1 - rss0) / n).toFixed(1)} KB, JS heap ${
    ((total(second) - total(first)) / n / 1024).toFixed(2)
  } KB`,
);
console.log("JS heap kept per ended call, by constructor (bytes, objects), top 20:");
for (const d of diff.slice(0, 20)) {
  console.log(`  ${d.perCall.toFixed(0).padStart(7)}  ${d.count.toFixed(2).padStart(7)}  ${d.key}`);
}
await Deno.remove(dir, { recursive: true });
