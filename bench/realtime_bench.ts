/**
 * Realtime (Media Streams ↔ OpenAI Realtime or GPT-Live) benchmark. In one run, against one fake
 * OpenAI server (Realtime and Live, both in echo mode; Live's output paced as Live paces it) and
 * the same load (N calls, a 20 ms frame each way every 20 ms, in Twilio's field order), it
 * measures each bridge as its own process: the service (`main.ts`) on Realtime and on GPT-Live
 * (`OPENAI_VOICE_ENGINE=live`), the reference bridge (`bench/reference_bridge.ts`: the common Node
 * sample's shape, on `node:http` and npm `ws`) and the floor (`bench/null_bridge.ts`: forwards
 * only), and the same load straight to the fake on each engine. For each: frame round trip (p50,
 * p99, p99 ÷ direct on its engine), peak RSS growth per call with every call open, CPU of one
 * core, frames lost, and (service and reference) barge-ins on some calls' first and second
 * answers: the caller cutting in → `clear`, `audio_end_ms` against what the emulated caller had
 * heard (Realtime; Live has nothing to truncate) and the audio still queued at Twilio when the
 * caller cut in. Then barge-ins again with the longer audio deltas real servers send, and the
 * service alone at a larger number of calls. Before all that, one call through the service:
 * `clear` latency and Nagle probes on both of its sockets.
 *
 * This process is the load generator: its own CPU, and what else kept the machine busy, are shown
 * with each phase, since a saturated load generator (or a busy machine) shows up as latency that
 * is not the bridge's. Compare bridges within one run, never across runs.
 * Usage: deno run -A bench/realtime_bench.ts [--quick] [--calls 200] [--seconds 20]
 *   [--settle 30] [--barge-calls 20] [--big-calls 400]
 */

import { FakeLive } from "../tests/fakes/fake_live.ts";
import { FakeRealtime } from "../tests/fakes/fake_realtime.ts";
import { benchOptions } from "./bench_options.ts";
import { directRun } from "./direct_load.ts";
import { recordPath } from "./path_summary.ts";
import {
  type BargeIn,
  bargeIn,
  type Bridge,
  cpuLine,
  FRAME_MS,
  type LoadResult,
  loadRun,
  ms,
  openBridgedCall,
  quietAgentsDir,
  sendBridged,
  serviceEnv,
  settle,
} from "./realtime_load.ts";
import { percentile, startServiceProcess } from "./service_process.ts";
import { MAX_QUEUED_MS } from "../lib/realtime/live_voice.ts";

const options = benchOptions({
  calls: { full: 200, quick: 50 },
  seconds: { full: 20, quick: 5 },
  settle: { full: 30, quick: 0 },
  "barge-calls": { full: 20, quick: 10 },
  "big-calls": { full: 400, quick: 0 },
});
const CALLS = options.calls;
const SECONDS = options.seconds;
const BARGE_CALLS = Math.min(options["barge-calls"], CALLS);
const BIG_CALLS = options["big-calls"];
const API_KEY = "sk-bench";
/** Longer deltas, as real servers send them (one delta is often 100–200 ms and more). */
const LONG_DELTAS_MS = [100, 200];

type Kind =
  | "service"
  | "service, GPT-Live"
  | "service, KV in memory"
  | "service, variant"
  | "reference"
  | "floor";
/** `deno run` flags of an extra row, "service, variant" (e.g. a V8 flag under trial). */
const VARIANT_FLAGS = Deno.env.get("BENCH_VARIANT_FLAGS")?.split(" ").filter(Boolean) ?? [];

const fake = new FakeRealtime({ mode: "echo" });
const live = new FakeLive({}, { mode: "echo" });
fake.live = live;
const baseUrl = fake.start();
const agentsDir = await quietAgentsDir();

/** Starts a bridge of `kind` as its own process, on a fresh KV. */
async function startBridge(kind: Kind) {
  const entry = {
    service: undefined,
    "service, GPT-Live": undefined,
    "service, KV in memory": undefined,
    "service, variant": undefined,
    reference: "reference_bridge.ts",
    floor: "null_bridge.ts",
  };
  const service = serviceEnv(baseUrl, agentsDir, Math.max(CALLS, BIG_CALLS) + 10);
  const process = await startServiceProcess(
    kind === "service" || kind === "service, variant"
      ? service
      : kind === "service, KV in memory"
      ? { ...service, KV_PATH: ":memory:" }
      : kind === "service, GPT-Live"
      ? { ...service, OPENAI_VOICE_ENGINE: "live" }
      : { OPENAI_API_KEY: API_KEY, OPENAI_BASE_URL: baseUrl },
    {
      entry: entry[kind] && new URL(entry[kind], import.meta.url).pathname,
      flags: kind === "service, variant" ? VARIANT_FLAGS : [],
    },
  );
  const bridge: Bridge = {
    name: kind,
    url: process.url,
    pid: process.pid,
    signed: kind.startsWith("service"),
    engine: kind === "service, GPT-Live" ? "live" as const : "realtime" as const,
  };
  return { bridge, stop: () => process.stop() };
}

const report: string[] = [];
function log(line: string): void {
  report.push(line);
  console.log(line);
}

// ---- 1. One call through the service: clear, audio_end_ms, Nagle probes. ------------------
{
  const { bridge, stop } = await startBridge("service");
  const single = await openBridgedCall(fake, bridge, 0);
  const clearMs: number[] = [];
  const endErr: number[] = [];
  // Keep audio flowing so something is always playing when the caller barges in.
  let seq = 0;
  let running = true;
  const pump = (async () => {
    const start = performance.now();
    while (running) {
      sendBridged(single, seq++);
      const due = start + seq * FRAME_MS;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
  })();
  await settle(() => single.frames.receivedCount > 10, 5000);
  for (let i = 0; i < 20; i++) {
    // Let about 200 ms of the new echo item reach the caller first.
    const target = single.frames.receivedCount + 10;
    await settle(() => single.frames.receivedCount >= target, 2000);
    try {
      const b = await bargeIn(single);
      clearMs.push(b.clearMs);
      endErr.push(b.endErrorMs);
    } catch (err) {
      // No clear: the echo item had drained at that instant (a stalled, busy machine).
      console.error(`one call: barge-in without clear (${(err as Error).message})`);
    }
  }
  // Upstream socket: a key press makes the bridge write response.cancel,
  // conversation.item.create and response.create back to back.
  const arrivals: { type: string; at: number }[] = [];
  fake.onClientEvent = (type, at) => arrivals.push({ type, at });
  const upstreamGaps: number[] = [];
  for (let i = 0; i < 10; i++) {
    arrivals.length = 0;
    single.client.dtmf("#");
    await settle(() => arrivals.some((a) => a.type === "response.create"), 2000);
    const first = arrivals[0]?.at ?? NaN;
    const last = arrivals.find((a) => a.type === "response.create")?.at ?? NaN;
    upstreamGaps.push(last - first);
  }
  fake.onClientEvent = null;
  running = false;
  await pump;
  await single.client.close();
  await stop();
  log(`One call through the service (${clearMs.length} barge-ins over echoed audio):`);
  log(
    `  Nagle probe, bridge → Twilio (media then its mark, back to back): gap p50 ${
      ms(percentile(single.markGaps, 50))
    }, p99 ${ms(percentile(single.markGaps, 99))}`,
  );
  log(
    `  speech_started → clear: p50 ${ms(percentile(clearMs, 50))}, max ${
      ms(Math.max(...clearMs))
    }; audio_end_ms − heard: min ${ms(Math.min(...endErr))}, max ${ms(Math.max(...endErr))}`,
  );
  log(
    `  Nagle probe, bridge → OpenAI (cancel, item.create, response.create back to back):` +
      ` spread p50 ${ms(percentile(upstreamGaps, 50))}, max ${ms(Math.max(...upstreamGaps))}`,
  );
}

// ---- 2. The same load through each bridge, and straight to the fake. -----------------------
const results: LoadResult[] = [];
// The in-memory KV row runs between the service and the reference, not last, so that a busier
// end of the run is not read as the cost of the KV.
const kinds: Kind[] = [
  "service",
  "service, GPT-Live",
  "service, KV in memory",
  "reference",
  "floor",
];
if (VARIANT_FLAGS.length > 0) kinds.push("service, variant");
for (const kind of kinds) {
  results.push(
    await loadRun(fake, await startBridge(kind), CALLS, {
      seconds: SECONDS,
      bargeCalls: kind === "floor" ? 0 : BARGE_CALLS,
      settleSeconds: kind === "service" ? options.settle : 0,
    }),
  );
}
const load = { calls: CALLS, seconds: SECONDS, apiKey: API_KEY };
const direct = await directRun(baseUrl, "realtime", load);
const directLive = await directRun(baseUrl, "live", load);
const directP99 = percentile(direct.latencies, 99);
const directLiveP99 = percentile(directLive.latencies, 99);
/** The direct p99 of `r`'s engine. */
const directP99Of = (r: LoadResult) => r.name === "service, GPT-Live" ? directLiveP99 : directP99;

/** |audio_end_ms − heard|, largest, and how many truncates were missing or refused. */
function bargeSummary(barges: BargeIn[]) {
  const errors = barges.map((b) => Math.abs(b.endErrorMs));
  const queued = barges.map((b) => b.queuedMs);
  return {
    clearP95: percentile(barges.map((b) => b.clearMs), 95),
    queued: { p50: percentile(queued, 50), p95: percentile(queued, 95), max: Math.max(...queued) },
    worstError: errors.some(Number.isNaN) ? NaN : Math.max(...errors),
    missing: barges.filter((b) => Number.isNaN(b.endErrorMs)).length,
    rejected: barges.filter((b) => b.rejected).length,
  };
}

function bargeCell(barges: BargeIn[], engine: "realtime" | "live" = "realtime"): string {
  if (barges.length === 0) return "–";
  const s = bargeSummary(barges);
  const worst = engine === "live"
    ? "nothing to truncate"
    : Number.isNaN(s.worstError)
    ? `${s.missing} of ${barges.length} without truncate (${s.rejected} refused)`
    : `audio_end_ms − heard within ±${s.worstError.toFixed(1)} ms`;
  const { p50, p95, max } = s.queued;
  return `clear p95 ${s.clearP95.toFixed(1)} ms, ${worst}, queued at Twilio p50 ` +
    `${p50.toFixed(0)} / p95 ${p95.toFixed(0)} / max ${max.toFixed(0)} ms`;
}

const engineOf = (name: string) => name === "service, GPT-Live" ? "live" as const : "realtime";

const row = (cells: string[]) => log(`| ${cells.join(" | ")} |`);
log(
  `\n${CALLS} calls, 50 frames/s each way, ${SECONDS} s, one fake (echo; Live's paced, at most ` +
    `${live.echoLeadMs} ms ahead); barge-ins on ${BARGE_CALLS} calls (20 ms deltas):`,
);
row([
  "bridge",
  "p50",
  "p99 round trip",
  "p99 ÷ direct",
  "RSS per idle call",
  "peak RSS growth per call",
  "CPU (one core)",
  "frames lost",
  "barge-in, 1st answer",
  "barge-in, 2nd answer",
]);
row(Array(10).fill("---"));
for (const r of results) {
  const p99 = percentile(r.latencies, 99);
  row([
    r.name,
    ms(percentile(r.latencies, 50)),
    ms(p99),
    `${(p99 / directP99Of(r)).toFixed(2)} ×`,
    `${r.idlePerCallKb.toFixed(0)} KB`,
    `${r.peakPerCallKb.toFixed(0)} KB`,
    `${r.cpu.servicePct.toFixed(1)} %`,
    r.lost === r.lostUnbarged ? `${r.lost} of ${r.sent}` : `${r.lost} of ${r.sent} ` +
      `(${r.lostUnbarged} on calls that never barged in)`,
    bargeCell(r.barges[0], engineOf(r.name)),
    bargeCell(r.barges[1], engineOf(r.name)),
  ]);
}
for (const [name, d] of [["direct", direct], ["direct, GPT-Live", directLive]] as const) {
  const p50 = ms(percentile(d.latencies, 50));
  row([name, p50, ms(percentile(d.latencies, 99)), "1 ×", "–", "–", "–", String(d.lost), "–", "–"]);
}
for (const r of results) log(`  ${r.name}:${cpuLine(r.cpu)}`);
log(`  direct:${cpuLine(direct.cpu)}`);
log(`  direct, GPT-Live:${cpuLine(directLive.cpu)}`);
log(
  "  queued at Twilio: audio received by the emulated Twilio and not yet played (20 ms frames in " +
    "real time) when the caller cut in — what the barge-in cut short.",
);
const byName = (name: Kind) => results.find((r) => r.name === name)!;
const service = byName("service");
const serviceLive = byName("service, GPT-Live");
for (
  const [path, r] of [["Media Streams, Realtime", service], [
    "Media Streams, GPT-Live",
    serviceLive,
  ]] as const
) {
  await recordPath({
    path,
    calls: CALLS,
    cpuPctPerCall: r.cpu.servicePct / CALLS,
    rssKbPerCall: r.peakPerCallKb,
    addedP99Ms: percentile(r.latencies, 99) - directP99Of(r),
    what: `frame round trip through the service, p99 less the direct p99 on its engine; ` +
      `CPU over ${SECONDS} s of 50 frames/s each way per call; RSS at its peak`,
  });
}
if (service.settledPerCallKb !== null) {
  log(`  service RSS per call once the heap settled: ${service.settledPerCallKb.toFixed(0)} KB`);
}

// ---- 3. Barge-ins with the longer deltas real servers send. --------------------------------
const longBarges: { deltaMs: number; kind: Kind; barges: BargeIn[][] }[] = [];
for (const deltaMs of BARGE_CALLS > 0 ? LONG_DELTAS_MS : []) {
  fake.echoDeltaMs = deltaMs;
  live.echoDeltaMs = deltaMs;
  for (const kind of ["service", "service, GPT-Live", "reference"] as const) {
    const r = await loadRun(fake, await startBridge(kind), BARGE_CALLS, {
      seconds: Math.max(3, SECONDS / 2),
      bargeCalls: BARGE_CALLS,
    });
    longBarges.push({ deltaMs, kind, barges: r.barges });
  }
}
fake.echoDeltaMs = 0;
live.echoDeltaMs = 0;
log(`\nBarge-ins on ${BARGE_CALLS} calls with longer deltas:`);
row(["deltas", "bridge", "barge-in, 1st answer", "barge-in, 2nd answer"]);
row(Array(4).fill("---"));
for (const b of longBarges) {
  const engine = engineOf(b.kind);
  row([`${b.deltaMs} ms`, b.kind, bargeCell(b.barges[0], engine), bargeCell(b.barges[1], engine)]);
}

// ---- 4. The service alone at more calls. ---------------------------------------------------
let big: LoadResult | null = null;
if (BIG_CALLS > 0) {
  big = await loadRun(fake, await startBridge("service"), BIG_CALLS, {
    seconds: SECONDS,
    bargeCalls: 0,
  });
  log(
    `\nService at ${BIG_CALLS} calls: p99 ${ms(percentile(big.latencies, 99))} (target ≤ 40 ms), ` +
      `frames lost ${big.lost} of ${big.sent}, CPU ${big.cpu.servicePct.toFixed(1)} %, ` +
      `peak RSS growth ${big.peakPerCallKb.toFixed(0)} KB per call`,
  );
  log(`  ${cpuLine(big.cpu)}`);
}

// ---- Targets. ------------------------------------------------------------------------------
const reference = byName("reference");
if (VARIANT_FLAGS.length > 0) log(`  service, variant: ${VARIANT_FLAGS.join(" ")}`);
const serviceP99 = percentile(service.latencies, 99);
const second = bargeSummary(service.barges[1]);
const longSecond = longBarges.filter((b) => b.kind === "service").map((b) =>
  bargeSummary(b.barges[1])
);
const liveP99 = percentile(serviceLive.latencies, 99);
const liveBarges = [
  ...serviceLive.barges,
  ...longBarges.filter((b) => b.kind === "service, GPT-Live").flatMap((b) => b.barges),
].flat();
const targets: [string, boolean][] = [
  [
    "p99 ≤ the reference's p99",
    serviceP99 <= percentile(reference.latencies, 99),
  ],
  ["p99 ≤ 2.5 × direct", serviceP99 <= 2.5 * directP99],
  ["peak RSS growth ≤ 150 KB per call", service.peakPerCallKb <= 150],
  ["CPU ≤ the reference's", service.cpu.servicePct <= reference.cpu.servicePct],
  ["0 frames lost", service.lost === 0],
  ["GPT-Live: p99 ≤ 2.5 × direct on Live", liveP99 <= 2.5 * directLiveP99],
  [
    "GPT-Live: peak RSS growth ≤ 150 KB per call, 0 frames lost on calls that never barged in",
    serviceLive.peakPerCallKb <= 150 && serviceLive.lostUnbarged === 0,
  ],
  [
    `GPT-Live barge-ins: at most ${MAX_QUEUED_MS} ms queued at Twilio, and a frame for the trip ` +
    "(all delta sizes)",
    liveBarges.length > 0 &&
    Math.max(...liveBarges.map((b) => b.queuedMs)) <= MAX_QUEUED_MS + FRAME_MS,
  ],
  [
    "2nd-answer barge-ins: clear p95 ≤ 10 ms, |audio_end_ms − heard| ≤ 20 ms (all delta sizes)",
    [second, ...longSecond].every((s) => s.clearP95 <= 10 && s.worstError <= 20),
  ],
];
if (big) {
  targets.push([
    `${BIG_CALLS} calls: 0 frames lost, p99 ≤ 40 ms`,
    big.lost === 0 && percentile(big.latencies, 99) <= 40,
  ]);
}
log("\nTargets:");
for (const [what, met] of targets) log(`  ${met ? "met   " : "MISSED"} ${what}`);

await fake.close();
await Deno.remove(agentsDir, { recursive: true });
Deno.exit(0);
