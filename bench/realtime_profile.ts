/**
 * Where the realtime path's memory and CPU go: the service (as `bench/profiled_main.ts`, i.e.
 * `main.ts` with heap snapshots on SIGUSR2) under the realtime benchmark's load, with `--cpu-prof`
 * and `--v8-flags=--trace-gc` when `TRACE_GC=1`. It prints the JS heap retained per open call by
 * constructor (a snapshot with the calls open, less one of the same process once they ended),
 * the RSS per call inside and outside the JS heap (read before any snapshot: writing one grows
 * RSS), and the functions with the most CPU self time over the run.
 * Usage: [TRACE_GC=1] deno run -A bench/realtime_profile.ts [--quick] [--calls 200] [--seconds 10]
 *
 * @module
 */

import { FakeRealtime } from "../tests/fakes/fake_realtime.ts";
import { benchOptions } from "./bench_options.ts";
import {
  type Bridge,
  type BridgedCall,
  drive,
  openBridgedCall,
  quietAgentsDir,
  sendBridged,
  serviceEnv,
  settle,
} from "./realtime_load.ts";
import { percentile, processStats, startServiceProcess } from "./service_process.ts";
import { cpuSelfTime, heapByConstructor, heapSnapshot as snapshot } from "./heap_profile.ts";

const options = benchOptions({
  calls: { full: 200, quick: 50 },
  seconds: { full: 10, quick: 4 },
});

const fake = new FakeRealtime({ mode: "echo" });
const baseUrl = fake.start();
const agentsDir = await quietAgentsDir();
const kvDir = await Deno.makeTempDir({ prefix: "callbridge-profile-" });
const service = await startServiceProcess(
  { ...serviceEnv(baseUrl, agentsDir, options.calls + 10), HEAP_SNAPSHOT_DIR: kvDir },
  {
    entry: new URL("profiled_main.ts", import.meta.url).pathname,
    flags: [
      "--cpu-prof",
      `--cpu-prof-dir=${kvDir}`,
      `--allow-write=${kvDir}`,
      ...(Deno.env.get("TRACE_GC") ? ["--v8-flags=--trace-gc"] : []),
    ],
  },
);
const bridge: Bridge = { name: "service", url: service.url, pid: service.pid, signed: true };
// Warm up (one call), then the readings: RSS before any snapshot (writing one grows RSS).
const warm = await openBridgedCall(fake, bridge, 0);
await drive([(seq) => sendBridged(warm, seq)], 1);
await warm.client.close();
const fresh = await processStats(service.pid);
const calls: BridgedCall[] = [];
for (let i = 0; i < options.calls; i++) calls.push(await openBridgedCall(fake, bridge, i + 1));
await drive(calls.map((call) => (seq: number) => sendBridged(call, seq)), 0.5);
await settle(() => calls.every((c) => c.frames.done), 2000);
const idle = await processStats(service.pid);
let peakKb = 0;
const sampler = setInterval(async () => {
  peakKb = Math.max(peakKb, (await processStats(service.pid)).rssKb);
}, 200);
await drive(calls.map((call) => (seq: number) => sendBridged(call, seq)), options.seconds);
clearInterval(sampler);
await settle(() => calls.every((c) => c.frames.done), 2000);
const latencies = calls.flatMap((c) => c.frames.latencies);
// The JS heap of the open calls: a snapshot with them open, less one once they have all ended.
const after = await heapByConstructor(await snapshot(service.pid, kvDir, 0));
await Promise.all(calls.map((c) => c.client.close()));
await new Promise((resolve) => setTimeout(resolve, 2000));
const before = await heapByConstructor(await snapshot(service.pid, kvDir, 1));
await service.stop({ keepKv: true });
await fake.close();

const n = options.calls;
const heapDiff = [...after].map(([key, [size, count]]) => {
  const [size0, count0] = before.get(key) ?? [0, 0];
  return { key, perCall: (size - size0) / n, count: (count - count0) / n };
}).sort((a, b) => b.perCall - a.perCall);
const heapPerCall = heapDiff.reduce((s, d) => s + d.perCall, 0);
console.log(
  `${n} calls open, JS heap retained per call (open less ended): ${
    (heapPerCall / 1024).toFixed(1)
  } KB`,
);
console.log(
  `RSS per call: ${((idle.rssKb - fresh.rssKb) / n).toFixed(0)} KB idle, ${
    ((peakKb - fresh.rssKb) / n).toFixed(0)
  } KB at the peak under traffic (so ${
    ((idle.rssKb - fresh.rssKb) / n - heapPerCall / 1024).toFixed(0)
  } KB per idle call is outside the JS heap); round trip p99 ${percentile(latencies, 99)} ms`,
);
console.log("JS heap per open call, by constructor (bytes, objects):");
for (const d of heapDiff.slice(0, 25)) {
  console.log(`  ${d.perCall.toFixed(0).padStart(7)}  ${d.count.toFixed(1).padStart(6)}  ${d.key}`);
}
const profile = [...Deno.readDirSync(kvDir)].find((e) => e.name.endsWith(".cpuprofile"));
if (profile) {
  const self = await cpuSelfTime(`${kvDir}/${profile.name}`);
  const total = self.reduce((s, [, t]) => s + t, 0);
  console.log(`CPU self time, whole run (${total.toFixed(0)} ms sampled), top 30:`);
  for (const [fn, t] of self.slice(0, 30)) {
    console.log(
      `  ${t.toFixed(0).padStart(6)} ms ${(100 * t / total).toFixed(1).padStart(5)} %  ${fn}`,
    );
  }
} else {
  console.log("(no CPU profile was written)");
}
await service.removeKv();
await Deno.remove(kvDir, { recursive: true });
await Deno.remove(agentsDir, { recursive: true });
