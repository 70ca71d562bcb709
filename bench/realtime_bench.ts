/**
 * Realtime (Media Streams ↔ OpenAI Realtime) benchmark: frame round trip through the bridge vs
 * straight to the fake, CPU and memory of the bridge, frames lost, speech_started → clear, the
 * accuracy of `audio_end_ms`, and a Nagle check on both sockets of the bridge.
 *
 * The service runs as its own process (`main.ts`); the fake Realtime server (echo mode) and the
 * emulated Twilio calls run here, so one clock times every frame. This process is the load
 * generator: its own CPU, and what else kept the machine busy, are reported with each phase, since
 * a saturated load generator (or a busy machine) shows up as latency that is not the bridge's.
 * RSS per call is (RSS with N calls open − RSS of the fresh service) / N, read once the service's
 * heap has settled after the traffic (V8 gives memory back only after some seconds of quiet).
 * Last, the same load goes through `bench/null_bridge.ts`, a bridge that only forwards over the
 * same sockets: the floor any bridge on this runtime and machine starts from.
 * Usage: deno run -A bench/realtime_bench.ts [--calls 200] [--seconds 10] [--settle 45]
 */

import { parseArgs } from "node:util";
import { FakeRealtime, type FakeRealtimeSession } from "../tests/fakes/fake_realtime.ts";
import { MediaStreamsClient } from "../tests/fakes/media_streams_client.ts";
import { NoDelayWebSocket } from "../lib/platform/ws_client.ts";
import { twilioParameters } from "../tests/helpers/service.ts";
import { PCMU_SESSION_UPDATE } from "./null_bridge.ts";
import { machineStats, percentile, processStats, startServiceProcess } from "./service_process.ts";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "200" },
    seconds: { type: "string", default: "10" },
    settle: { type: "string", default: "45" },
  },
});
const CALLS = Number(values.calls);
const SECONDS = Number(values.seconds);
const SETTLE_SECONDS = Number(values.settle);
const AUTH_TOKEN = "bench-auth-token";
const API_KEY = "sk-bench";
const FRAME_MS = 20;

/** Base64 of the last 154 bytes of every frame (0xff, µ-law silence). */
const FRAME_TAIL = btoa("\xff".repeat(154));

/**
 * A unique 160-byte frame: call and sequence numbers in the first 6 bytes, which are the first 8
 * base64 characters, so building one (and reading its sequence number back) is cheap.
 */
function frame(call: number, seq: number): string {
  return btoa(
    String.fromCharCode(call & 0xff, call >> 8, seq & 0xff, (seq >> 8) & 0xff, seq >> 16, 0xff),
  ) + FRAME_TAIL;
}

/** The sequence number `frame()` put in `payload`, or -1 if it is not such a frame. */
function frameSeq(payload: string): number {
  if (payload.length !== 216 || !payload.endsWith(FRAME_TAIL)) return -1;
  const head = atob(payload.slice(0, 8));
  return head.charCodeAt(2) | (head.charCodeAt(3) << 8) | (head.charCodeAt(4) << 16);
}

/** Send times of one call's frames by sequence number; each is counted once when echoed. */
class FrameClock {
  readonly latencies: number[] = [];
  sentCount = 0;
  receivedCount = 0;
  #sentAt: number[] = [];

  sent(seq: number): void {
    this.#sentAt[seq] = performance.now();
    this.sentCount++;
  }

  received(payload: string, at: number): void {
    const seq = frameSeq(payload);
    const t0 = seq < 0 ? undefined : this.#sentAt[seq];
    if (t0 === undefined || Number.isNaN(t0)) return;
    this.#sentAt[seq] = NaN;
    this.latencies.push(at - t0);
    this.receivedCount++;
  }

  get done(): boolean {
    return this.receivedCount === this.sentCount;
  }
}

/** CPU use over a phase: the service, this process (the load generator), and everything else. */
async function cpuWindow(pid: number) {
  const [service, self, machine] = await Promise.all([
    processStats(pid),
    processStats(Deno.pid),
    machineStats(),
  ]);
  const t0 = performance.now();
  return async () => {
    const [service1, self1, machine1] = await Promise.all([
      processStats(pid),
      processStats(Deno.pid),
      machineStats(),
    ]);
    const pct = (ms: number) => (ms / (performance.now() - t0)) * 100;
    const servicePct = pct(service1.cpuMs - service.cpuMs);
    const benchPct = pct(self1.cpuMs - self.cpuMs);
    return {
      servicePct,
      benchPct,
      otherPct: Math.max(0, pct(machine1.busyMs - machine.busyMs) - servicePct - benchPct),
      cores: machine.cores,
      rssKb: service1.rssKb,
    };
  };
}

function cpuLine(cpu: { servicePct: number; benchPct: number; otherPct: number; cores: number }) {
  const busy = cpu.otherPct > 20 ? "  ← the machine was busy with other work: rerun" : "";
  return `  load generator (this process) ${
    cpu.benchPct.toFixed(1)
  } % of one core, other processes ` +
    `${cpu.otherPct.toFixed(1)} % (of ${cpu.cores} cores)${busy}`;
}

function ms(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)} ms` : "n/a";
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Sends a frame every 20 ms from each sender (phases spread over the 20 ms) for `seconds`. One
 * 1 ms ticker sends every frame that is due, rather than a timer per sender and frame (10,000
 * timers a second for 200 calls, which loaded the load generator).
 */
function drive(senders: ((seq: number) => void)[], seconds: number): Promise<void> {
  const frames = Math.round((seconds * 1000) / FRAME_MS);
  const start = performance.now() + 50;
  const due = senders.map((_, i) => start + (i * FRAME_MS) / senders.length);
  const sent = senders.map(() => 0);
  let unfinished = senders.length;
  return new Promise((resolve) => {
    const ticker = setInterval(() => {
      const now = performance.now();
      for (let i = 0; i < senders.length; i++) {
        while (sent[i] < frames && due[i] <= now) {
          senders[i](sent[i]++);
          due[i] += FRAME_MS;
          if (sent[i] === frames) unfinished--;
        }
      }
      if (unfinished === 0) {
        clearInterval(ticker);
        resolve();
      }
    }, 1);
  });
}

/**
 * A copy of the shipped agents whose default agent never reminds a silent caller: the silence
 * policy would otherwise end the calls that stay quiet while the heap settles.
 */
async function quietAgentsDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "callbridge-bench-agents-" });
  const shipped = new URL("../assets/agents/default/", import.meta.url);
  await Deno.mkdir(`${dir}/default`);
  for await (const entry of Deno.readDir(shipped)) {
    await Deno.copyFile(new URL(entry.name, shipped), `${dir}/default/${entry.name}`);
  }
  const agent = JSON.parse(await Deno.readTextFile(`${dir}/default/agent.json`));
  agent.silence = { ...agent.silence, reminderAfterSeconds: 0 };
  await Deno.writeTextFile(`${dir}/default/agent.json`, JSON.stringify(agent));
  return dir;
}

/** Waits (bounded) until `done()` or `timeoutMs` passes. */
async function settle(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done() && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const fake = new FakeRealtime({ mode: "echo" });
const baseUrl = fake.start();
const agentsDir = await quietAgentsDir();
const service = await startServiceProcess({
  OPENAI_API_KEY: API_KEY,
  OPENAI_BASE_URL: baseUrl,
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  TWILIO_ACCOUNT_SID: "",
  REALTIME_GREETING: "",
  DTMF_DEBOUNCE_MS: "1000",
  LOG_LEVEL: "warn",
  // The calls stay open, silent, while the heap settles for the memory reading.
  TWILIO_IDLE_TIMEOUT_SECONDS: "300",
  AGENTS_DIR: agentsDir,
});
const fresh = await processStats(service.pid);

interface BridgedCall {
  client: MediaStreamsClient;
  session: FakeRealtimeSession;
  frames: FrameClock;
  /** Played bytes when each new echo item started (after a clear the queue is empty). */
  itemStart: number;
  /** Media → its mark arrival at the client (written back to back by the bridge). */
  markGaps: number[];
  lastMediaAt: number;
}

/** A call through the bridge at `url` (the service, or the floor), started and configured. */
async function openBridgedCall(url: string, _index: number) {
  const sessionsBefore = fake.sessions.items.length;
  const call = {
    frames: new FrameClock(),
    itemStart: 0,
    markGaps: [] as number[],
    lastMediaAt: 0,
  } as BridgedCall;
  // The service wants what Twilio would send: the webhook's TwiML parameters (the call's token);
  // the floor forwards anything.
  const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
  const parameters = url === service.url
    ? await twilioParameters(url, {
      callSid,
      authToken: AUTH_TOKEN,
      path: "/twilio/voice/realtime",
    })
    : { agent: "default" };
  call.client = await MediaStreamsClient.connect(url, {
    callSid,
    authToken: AUTH_TOKEN,
    onMark: (_name, at) => call.markGaps.push(at - call.lastMediaAt),
    onMedia: (payload, at) => {
      call.lastMediaAt = at;
      call.frames.received(payload, at);
    },
  });
  call.client.start(parameters);
  call.session = await fake.sessions.waitFor(() => true, {
    what: "a session",
    from: sessionsBefore,
    timeoutMs: 30000,
  });
  await call.session.events.waitFor((e) => e.type === "session.update", {
    what: "session.update",
    timeoutMs: 30000,
  });
  return call;
}

function sendBridged(call: BridgedCall, callIndex: number, seq: number): void {
  const payload = frame(callIndex, seq);
  call.frames.sent(seq);
  call.client.media(payload);
}

/** Barge-in on `call`: returns speech_started → clear (ms) and the audio_end_ms error (ms). */
async function bargeIn(call: BridgedCall): Promise<{ clearMs: number; endErrorMs: number }> {
  const truncates = call.session.truncates.items.length;
  const clears = call.client.clears.items.length;
  const t0 = performance.now();
  call.session.speechStarted();
  const clear = await call.client.clears.waitFor(() => true, {
    what: "clear",
    from: clears,
    timeoutMs: 10000,
  });
  const truncate = await call.session.truncates.waitFor(() => true, {
    what: "truncate",
    from: truncates,
    timeoutMs: 10000,
  });
  const heardMs = (clear.playedBytes - call.itemStart) / 8;
  call.itemStart = clear.playedBytes;
  return { clearMs: clear.at - t0, endErrorMs: truncate.audioEndMs - heardMs };
}

const report: string[] = [];
const log = (line: string) => {
  report.push(line);
  console.log(line);
};

// ---- 1. One call: speech_started → clear, audio_end_ms accuracy, Nagle probes. --------------
const single = await openBridgedCall(service.url, 0);
const singleClear: number[] = [];
const singleEndErr: number[] = [];
{
  // Keep audio flowing so something is always playing when the caller barges in.
  let seq = 0;
  let running = true;
  const pump = (async () => {
    const start = performance.now();
    while (running) {
      sendBridged(single, 0, seq++);
      const due = start + seq * FRAME_MS;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
  })();
  await settle(() => single.frames.receivedCount > 10, 5000);
  for (let i = 0; i < 20; i++) {
    // Let about 200 ms of the new echo item reach the caller first.
    const target = single.frames.receivedCount + 10;
    await settle(() => single.frames.receivedCount >= target, 2000);
    const { clearMs, endErrorMs } = await bargeIn(single);
    singleClear.push(clearMs);
    singleEndErr.push(endErrorMs);
  }
  // Nagle probe, upstream socket: a key press makes the bridge write response.cancel,
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
    await settle(() => single.frames.receivedCount > 0 && single.client.playedBytes() > 0, 100);
  }
  fake.onClientEvent = null;
  running = false;
  await pump;
  log(`One call (${singleClear.length} barge-ins over echoed audio):`);
  log(
    `  Nagle probe, bridge → Twilio (media then its mark, back to back): gap p50 ${
      ms(percentile(single.markGaps, 50))
    }, p99 ${ms(percentile(single.markGaps, 99))}, max ${ms(Math.max(...single.markGaps))}`,
  );
  log(
    `  speech_started → clear at the client: p50 ${ms(percentile(singleClear, 50))}, max ${
      ms(Math.max(...singleClear))
    }   (target ≤ 2 ms)`,
  );
  log(
    `  audio_end_ms − heard: min ${ms(Math.min(...singleEndErr))}, max ${
      ms(Math.max(...singleEndErr))
    }   (target within ±20 ms)`,
  );
  log(
    `  Nagle probe, bridge → OpenAI (cancel, item.create, response.create written back to back):` +
      ` spread p50 ${ms(percentile(upstreamGaps, 50))}, max ${ms(Math.max(...upstreamGaps))}`,
  );
}
await single.client.close();

// ---- 2. N calls through the bridge. -------------------------------------------------------
const calls: BridgedCall[] = [];
const clearUnderLoad: number[] = [];
/** audio_end_ms − heard of each call's first and second interrupted answer. */
const endErrUnderLoad: number[][] = [[], []];
// One at a time, so each call is paired with its own upstream session.
for (let i = 0; i < CALLS; i++) calls.push(await openBridgedCall(service.url, i + 1));
await nextTurn();
const bridgedCpu = await cpuWindow(service.pid);
/**
 * Each call is interrupted twice (its first answer, then its second), at moments spread over two
 * windows of the run; a call's second barge-in waits for its first to be over.
 */
async function bargeInTwice(index: number, at: number[]): Promise<void> {
  for (const [pass, due] of at.entries()) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    try {
      const { clearMs, endErrorMs } = await bargeIn(calls[index]);
      clearUnderLoad.push(clearMs);
      endErrUnderLoad[pass].push(endErrorMs);
    } catch (err) {
      // No clear is right when the echo queue had drained at that instant.
      console.error(`barge-in without clear (${(err as Error).message})`);
    }
  }
}
const runStart = performance.now();
const windows = [[0.15, 0.45], [0.5, 0.8]].map(([from, to]) => {
  const order = calls.map((_, i) => i).sort(() => Math.random() - 0.5);
  const at: number[] = [];
  order.forEach((index, k) => {
    at[index] = runStart + (from + ((to - from) * k) / calls.length) * SECONDS * 1000;
  });
  return at;
});
const bargeIns = Promise.all(calls.map((_, i) => bargeInTwice(i, windows.map((at) => at[i]))));
await drive(calls.map((call, i) => (seq: number) => sendBridged(call, i + 1, seq)), SECONDS);
const bridgedUse = await bridgedCpu();
await bargeIns;
await settle(() => calls.every((c) => c.frames.done), 2000);
const mediaSeen = calls.reduce((n, c) => n + c.frames.receivedCount, 0);
const sentTotal = calls.reduce((n, c) => n + c.frames.sentCount, 0);
const bridged = calls.flatMap((c) => c.frames.latencies);
const fakeErrors = fake.sessions.items.reduce((n, s) => n + s.errors.items.length, 0);
// Memory: with every call still open and quiet, wait for the heap to shrink back and settle.
const settleStart = performance.now();
const rssSamples: number[] = [bridgedUse.rssKb];
let settled = false;
while (!settled && performance.now() - settleStart < SETTLE_SECONDS * 1000) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  rssSamples.push((await processStats(service.pid)).rssKb);
  // Settled: V8 has given memory back (RSS ≥ 10 % below its peak) and it is steady for 5 s
  // (the memory reducer often shrinks the heap in two steps a second or two apart).
  const last = rssSamples.slice(-10);
  const dropped = Math.min(...rssSamples) < 0.9 * Math.max(...rssSamples);
  settled = dropped && last.length === 10 && Math.max(...last) - Math.min(...last) < 512;
}
const settledRss = rssSamples.at(-1)!;
// The reading only counts if every call is still open (none ended by a policy meanwhile).
const openAtReading = calls.filter((c) => c.client.open).length;
const settledAfter = (performance.now() - settleStart) / 1000;
const rssPerCall = (settledRss - fresh.rssKb) / CALLS;
await Promise.all(calls.map((c) => c.client.close()));

const lost = sentTotal - mediaSeen;
const gaps = calls.flatMap((c) => c.markGaps);
log(`\n${CALLS} calls through the bridge, 50 frames/s each, ${SECONDS} s:`);
log(
  `  round trip p50 ${ms(percentile(bridged, 50))}, p99 ${ms(percentile(bridged, 99))}, max ${
    ms(Math.max(...bridged))
  }`,
);
log(
  `  frames sent ${sentTotal}, echoed back ${mediaSeen}, lost ${lost}; media → mark gap p99 ${
    ms(percentile(gaps, 99))
  }`,
);
log(
  `  bridge process CPU ${bridgedUse.servicePct.toFixed(1)} % of one core (target ≤ 35 %)`,
);
log(
  `  RSS ${(settledRss / 1024).toFixed(1)} MB with ${openAtReading} of ${CALLS} calls open${
    openAtReading < CALLS ? " (← calls ended early: the reading is not per open call)" : ""
  }, ${settled ? "settled" : "NOT settled (heap slack still counted)"} after ${
    settledAfter.toFixed(1)
  } s (fresh service ${(fresh.rssKb / 1024).toFixed(1)} MB): ` +
    `${rssPerCall.toFixed(1)} KB per call (target ≤ 120 KB); during the traffic ` +
    `${(bridgedUse.rssKb / 1024).toFixed(1)} MB`,
);
log(cpuLine(bridgedUse));
log(
  `  speech_started → clear (${clearUnderLoad.length} barge-ins): p50 ${
    ms(percentile(clearUnderLoad, 50))
  }, p95 ${ms(percentile(clearUnderLoad, 95))} (target ≤ 10 ms)`,
);
for (const [pass, errors] of endErrUnderLoad.entries()) {
  log(
    `  audio_end_ms − heard, ${
      pass === 0 ? "first" : "second"
    } answer of each call (${errors.length}): min ${ms(Math.min(...errors))}, max ${
      ms(Math.max(...errors))
    } (target within ±20 ms)`,
  );
}
log(`  fake Realtime errors: ${fakeErrors}`);

// ---- 3. The same load straight to the fake (no bridge). -----------------------------------
interface DirectCall {
  ws: NoDelayWebSocket;
  frames: FrameClock;
}

async function openDirect(): Promise<DirectCall> {
  const url = `${baseUrl.replace(/^http/, "ws")}/realtime?model=gpt-realtime`;
  const ws = new NoDelayWebSocket(url, { headers: { Authorization: `Bearer ${API_KEY}` } });
  const call: DirectCall = { ws, frames: new FrameClock() };
  const ready = new Promise<void>((resolve, reject) => {
    ws.addEventListener("error", () => reject(new Error("direct socket failed")));
    ws.addEventListener("message", (ev) => {
      const data = ev.data as string;
      const at = performance.now();
      if (data.startsWith('{"type":"response.output_audio.delta"')) {
        const start = data.indexOf('"delta":"') + 9;
        call.frames.received(data.slice(start, data.indexOf('"', start)), at);
      } else if (data.includes('"type":"session.updated"')) resolve();
    });
  });
  await new Promise<void>((resolve) => ws.addEventListener("open", () => resolve()));
  ws.send(PCMU_SESSION_UPDATE);
  await ready;
  return call;
}

const directs: DirectCall[] = [];
for (let i = 0; i < CALLS; i += 20) {
  directs.push(
    ...await Promise.all(Array.from({ length: Math.min(20, CALLS - i) }, () => openDirect())),
  );
}
const directCpu = await cpuWindow(service.pid);
await drive(
  directs.map((call, i) => (seq: number) => {
    const payload = frame(i + 1, seq);
    call.frames.sent(seq);
    call.ws.send('{"type":"input_audio_buffer.append","audio":"' + payload + '"}');
  }),
  SECONDS,
);
const directUse = await directCpu();
await settle(() => directs.every((c) => c.frames.done), 2000);
const direct = directs.flatMap((c) => c.frames.latencies);
const directLost = directs.reduce((n, c) => n + c.frames.sentCount - c.frames.receivedCount, 0);
await Promise.all(directs.map((c) =>
  new Promise<void>((resolve) => {
    c.ws.addEventListener("close", () => resolve());
    c.ws.close();
  })
));
log(`\n${CALLS} calls straight to the fake (same client, same load):`);
log(
  `  round trip p50 ${ms(percentile(direct, 50))}, p99 ${ms(percentile(direct, 99))}, max ${
    ms(Math.max(...direct))
  }, frames lost ${directLost}`,
);
log(cpuLine(directUse));
const ratio = percentile(bridged, 99) / percentile(direct, 99);
log(`\nBridge p99 / direct p99 = ${ratio.toFixed(2)} (target ≤ 2)`);
await service.stop();

// ---- 4. The same load through the floor: a bridge that only forwards. ---------------------
const floor = await startServiceProcess(
  { OPENAI_API_KEY: API_KEY, OPENAI_BASE_URL: baseUrl },
  { entry: new URL("null_bridge.ts", import.meta.url).pathname },
);
const floorCalls: BridgedCall[] = [];
for (let i = 0; i < CALLS; i++) floorCalls.push(await openBridgedCall(floor.url, i + 1));
await nextTurn();
const floorCpu = await cpuWindow(floor.pid);
await drive(floorCalls.map((call, i) => (seq: number) => sendBridged(call, i + 1, seq)), SECONDS);
const floorUse = await floorCpu();
await settle(() => floorCalls.every((c) => c.frames.done), 2000);
const floorLatencies = floorCalls.flatMap((c) => c.frames.latencies);
const floorLost = floorCalls.reduce((n, c) => n + c.frames.sentCount - c.frames.receivedCount, 0);
await Promise.all(floorCalls.map((c) => c.client.close()));
await floor.stop();
log(
  `\n${CALLS} calls through the floor (bench/null_bridge.ts: forwards frames and marks, nothing ` +
    `else; same sockets, same load):`,
);
log(
  `  round trip p50 ${ms(percentile(floorLatencies, 50))}, p99 ${
    ms(percentile(floorLatencies, 99))
  }, max ${ms(Math.max(...floorLatencies))}, frames lost ${floorLost}`,
);
log(`  floor process CPU ${floorUse.servicePct.toFixed(1)} % of one core`);
log(cpuLine(floorUse));
log(
  `\nBridge over the floor: CPU +${
    (bridgedUse.servicePct - floorUse.servicePct).toFixed(1)
  } points of one core; p99 ${ms(percentile(bridged, 99))} vs ${
    ms(percentile(floorLatencies, 99))
  } (floor p99 / direct p99 = ${
    (percentile(floorLatencies, 99) / percentile(direct, 99)).toFixed(2)
  })`,
);

await fake.close();
await Deno.remove(agentsDir, { recursive: true });
Deno.exit(0);
