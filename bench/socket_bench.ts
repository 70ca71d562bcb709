/**
 * What the socket layer costs: the forward-only floor (`bench/null_bridge.ts`) under the realtime
 * benchmark's load, in one run, on each pairing of sockets: Twilio's side on
 * `Deno.upgradeWebSocket` or `node:http` + npm `ws`, the upstream side on the service's
 * {@link NoDelayWebSocket} or `ws`. Per pairing: round trip p50/p99, RSS per call with the calls
 * open and idle and at its peak under traffic, and CPU of one core. Which layer the service's
 * media socket should use is read from here, not guessed.
 * Usage: deno run -A bench/socket_bench.ts [--quick] [--calls 200] [--seconds 10]
 *
 * @module
 */

import { FakeRealtime } from "../tests/fakes/fake_realtime.ts";
import { benchOptions } from "./bench_options.ts";
import { type Bridge, cpuLine, loadRun, ms } from "./realtime_load.ts";
import { percentile, startServiceProcess } from "./service_process.ts";

const options = benchOptions({
  calls: { full: 200, quick: 50 },
  seconds: { full: 10, quick: 3 },
});

const fake = new FakeRealtime({ mode: "echo" });
const baseUrl = fake.start();
const pairings = [
  { twilio: "deno", upstream: "nodelay" },
  { twilio: "ws", upstream: "nodelay" },
  { twilio: "deno", upstream: "ws" },
  { twilio: "ws", upstream: "ws" },
];
console.log(
  `Forward-only floor, ${options.calls} calls, 50 frames/s each way, ${options.seconds} s:`,
);
console.log(
  "| Twilio socket | upstream socket | p50 | p99 | RSS per idle call | peak RSS per call | CPU |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
const lines: string[] = [];
for (const { twilio, upstream } of pairings) {
  const process = await startServiceProcess({
    OPENAI_API_KEY: "sk-bench",
    OPENAI_BASE_URL: baseUrl,
    TWILIO_SOCKET: twilio,
    UPSTREAM_SOCKET: upstream,
  }, { entry: new URL("null_bridge.ts", import.meta.url).pathname });
  const bridge: Bridge = {
    name: `${twilio}/${upstream}`,
    url: process.url,
    pid: process.pid,
    signed: false,
  };
  const r = await loadRun(fake, { bridge, stop: () => process.stop() }, options.calls, {
    seconds: options.seconds,
    bargeCalls: 0,
  });
  const server = { deno: "Deno.upgradeWebSocket", ws: "node:http + ws" };
  const client = { nodelay: "NoDelayWebSocket", ws: "ws" };
  console.log(
    `| ${server[twilio as "ws"]} | ${client[upstream as "ws"]} | ${
      ms(percentile(r.latencies, 50))
    } | ${ms(percentile(r.latencies, 99))} | ${r.idlePerCallKb.toFixed(0)} KB | ${
      r.peakPerCallKb.toFixed(0)
    } KB | ${r.cpu.servicePct.toFixed(1)} % |`,
  );
  lines.push(`  ${bridge.name}: frames lost ${r.lost};${cpuLine(r.cpu)}`);
}
for (const line of lines) console.log(line);
await fake.close();
Deno.exit(0);
