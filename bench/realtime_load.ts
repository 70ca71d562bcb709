/**
 * The load of the realtime benchmark: emulated Twilio calls through a bridge (the service on
 * either engine, the reference bridge or the floor) against the fake Realtime or the fake Live in
 * echo mode, each frame timed from the call sending it to the call receiving its echo, barge-ins
 * timed and checked against the emulated caller's ears (with the audio still queued at Twilio
 * when the caller cut in), and the bridge process's CPU and peak RSS read from /proc.
 *
 * @module
 */

import type { FakeLiveSession } from "../tests/fakes/fake_live.ts";
import type { FakeRealtime } from "../tests/fakes/fake_realtime.ts";
import type { FakeRealtimeSession } from "../tests/fakes/fake_realtime_session.ts";
import { MediaStreamsClient } from "../tests/fakes/media_streams_client.ts";
import { twilioParameters } from "../tests/helpers/service.ts";
import { machineStats, percentile, processStats } from "./service_process.ts";

/** Twilio sends a frame every 20 ms. */
export const FRAME_MS = 20;

/** Base64 of the last 154 bytes of every frame (0xff, µ-law silence). */
const FRAME_TAIL = btoa("\xff".repeat(154));

/**
 * A unique 160-byte frame: call and sequence numbers in the first 6 bytes, which are the first 8
 * base64 characters, so building one (and reading its sequence number back) is cheap.
 */
export function frame(call: number, seq: number): string {
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
export class FrameClock {
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

/** CPU use over a phase, as % of one core: the bridge, this process, everything else. */
export interface CpuUse {
  servicePct: number;
  benchPct: number;
  otherPct: number;
  cores: number;
}

/** Starts a CPU window on `pid`; the function it returns ends it. */
export async function cpuWindow(pid: number): Promise<() => Promise<CpuUse>> {
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
    };
  };
}

/** Samples `pid`'s RSS every 200 ms until stopped; `peakKb` is the highest seen. */
export function rssSampler(pid: number): { stop(): Promise<number> } {
  let peakKb = 0;
  let last = Promise.resolve();
  const sample = () => {
    last = processStats(pid).then((s) => void (peakKb = Math.max(peakKb, s.rssKb)), () => {});
  };
  sample();
  const timer = setInterval(sample, 200);
  return {
    async stop() {
      clearInterval(timer);
      sample();
      await last;
      return peakKb;
    },
  };
}

/** Milliseconds, two decimals. */
export function ms(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)} ms` : "n/a";
}

/**
 * Sends a frame every 20 ms from each sender (phases spread over the 20 ms) for `seconds`. One
 * 1 ms ticker sends every frame that is due, rather than a timer per sender and frame (10,000
 * timers a second for 200 calls, which loaded the load generator).
 */
export function drive(senders: ((seq: number) => void)[], seconds: number): Promise<void> {
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

/** Waits (bounded) until `done()` or `timeoutMs` passes. */
export async function settle(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done() && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A bridge under load: where it listens, its process, and whether it wants Twilio's token. */
export interface Bridge {
  name: string;
  url: string;
  pid: number;
  /** The service checks the per-call token of the webhook's TwiML; the others forward anything. */
  signed: boolean;
  /** The upstream API its calls use (default Realtime). */
  engine?: "realtime" | "live";
}

/** A call's session at the fake, on either API. */
export type EchoSession =
  | { engine: "realtime"; session: FakeRealtimeSession }
  | { engine: "live"; session: FakeLiveSession };

/** One emulated call through a bridge, with its own upstream session at the fake. */
export interface BridgedCall {
  index: number;
  client: MediaStreamsClient;
  upstream: EchoSession;
  frames: FrameClock;
  /** Played bytes when the current echo item started (after a clear the queue is empty). */
  itemStart: number;
  /** Media → its mark arrival at the client (written back to back by the bridge). */
  markGaps: number[];
  lastMediaAt: number;
}

/** Opens a call through `bridge`, started, once its upstream session is configured. */
export async function openBridgedCall(
  fake: FakeRealtime,
  bridge: Bridge,
  index: number,
): Promise<BridgedCall> {
  const sessionsBefore = sessionCount(fake, bridge.engine ?? "realtime");
  const call = {
    index,
    frames: new FrameClock(),
    itemStart: 0,
    markGaps: [] as number[],
    lastMediaAt: 0,
  } as BridgedCall;
  const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
  const parameters = bridge.signed
    ? await twilioParameters(bridge.url, {
      callSid,
      authToken: AUTH_TOKEN,
      path: "/twilio/voice/realtime",
    })
    : { agent: "default" };
  call.client = await MediaStreamsClient.connect(bridge.url, {
    callSid,
    authToken: AUTH_TOKEN,
    onMark: (_name, at) => call.markGaps.push(at - call.lastMediaAt),
    onMedia: (payload, at) => {
      call.lastMediaAt = at;
      call.frames.received(payload, at);
    },
  });
  call.client.start(parameters);
  call.upstream = await upstreamOf(fake, bridge.engine ?? "realtime", sessionsBefore);
  return call;
}

/** Number of sessions the fake of `engine` has had so far. */
function sessionCount(fake: FakeRealtime, engine: "realtime" | "live"): number {
  return engine === "live" ? fake.live!.sessions.items.length : fake.sessions.items.length;
}

/** The next session at the fake of `engine` after `from`, once the bridge has configured it. */
async function upstreamOf(
  fake: FakeRealtime,
  engine: "realtime" | "live",
  from: number,
): Promise<EchoSession> {
  const wait = { from, timeoutMs: 30000 };
  if (engine === "live") {
    const session = await fake.live!.sessions.waitFor(() => true, { what: "a session", ...wait });
    await session.events.waitFor((e) => e.type === "session.start", {
      what: "session.start",
      timeoutMs: 30000,
    });
    return { engine, session };
  }
  const session = await fake.sessions.waitFor(() => true, { what: "a session", ...wait });
  await session.events.waitFor((e) => e.type === "session.update", {
    what: "session.update",
    timeoutMs: 30000,
  });
  return { engine, session };
}

/** The service's Twilio auth token in the benchmark. */
export const AUTH_TOKEN = "bench-auth-token";

/** Sends the call's frame number `seq`, timed. */
export function sendBridged(call: BridgedCall, seq: number): void {
  call.frames.sent(seq);
  call.client.media(frame(call.index, seq));
}

/** One barge-in as the caller lived it. */
export interface BargeIn {
  /** The caller cut in (speech_started, or Live's transcript of their words) → `clear`, ms. */
  clearMs: number;
  /** audio_end_ms of the truncate − what the caller had heard of the item, ms (NaN: none). */
  endErrorMs: number;
  /** The fake refused the truncate (e.g. past the item's audio). */
  rejected: boolean;
  /** Audio received at Twilio and not yet played when the caller cut in, ms. */
  queuedMs: number;
}

/**
 * Barge-in on `call`: the fake says speech_started (Realtime: the clear and the truncate are
 * awaited) or the caller's words (Live: it stops its output; the clear is awaited, and there is
 * nothing to truncate).
 */
export async function bargeIn(call: BridgedCall): Promise<BargeIn> {
  const { upstream, client } = call;
  const clears = client.clears.items.length;
  const t0 = performance.now();
  const queuedMs = client.queuedMs(t0);
  if (upstream.engine === "live") upstream.session.callerSays("Wait.");
  else upstream.session.speechStarted();
  const truncates = upstream.engine === "realtime" ? upstream.session.truncates.items.length : 0;
  const errors = upstream.session.errors.items.length;
  const clear = await client.clears.waitFor(() => true, {
    what: "clear",
    from: clears,
    timeoutMs: 10000,
  });
  const heardMs = (clear.playedBytes - call.itemStart) / 8;
  call.itemStart = clear.playedBytes;
  const clearMs = clear.at - t0;
  if (upstream.engine === "live") return { clearMs, endErrorMs: NaN, rejected: false, queuedMs };
  const session = upstream.session;
  await settle(
    () => session.truncates.items.length > truncates || session.errors.items.length > errors,
    3000,
  );
  const truncate = session.truncates.items[truncates];
  return {
    clearMs,
    endErrorMs: truncate ? truncate.audioEndMs - heardMs : NaN,
    rejected: !truncate && session.errors.items.length > errors,
    queuedMs,
  };
}

/** The service's environment in the benchmark (the fake's URL added by the caller). */
export function serviceEnv(baseUrl: string, agentsDir: string, maxCalls: number) {
  return {
    OPENAI_API_KEY: "sk-bench",
    OPENAI_BASE_URL: baseUrl,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_ACCOUNT_SID: "",
    REALTIME_GREETING: "",
    DTMF_DEBOUNCE_MS: "1000",
    LOG_LEVEL: "warn",
    // The calls stay open, silent, while the heap settles for the memory reading.
    TWILIO_IDLE_TIMEOUT_SECONDS: "300",
    AGENTS_DIR: agentsDir,
    MAX_CONCURRENT_CALLS: String(maxCalls),
  };
}

/**
 * A copy of the shipped agents whose default agent never reminds a silent caller: the silence
 * policy would otherwise end the calls that stay quiet while the heap settles.
 */
export async function quietAgentsDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "callbridge-bench-agents-" });
  const shipped = new URL("../assets/agents/default/", import.meta.url);
  await Deno.mkdir(`${dir}/default`);
  // The profile's own files (its scenarios folder is not needed under load).
  for await (const entry of Deno.readDir(shipped)) {
    if (!entry.isFile) continue;
    await Deno.copyFile(new URL(entry.name, shipped), `${dir}/default/${entry.name}`);
  }
  const agent = JSON.parse(await Deno.readTextFile(`${dir}/default/agent.json`));
  agent.silence = { ...agent.silence, reminderAfterSeconds: 0 };
  await Deno.writeTextFile(`${dir}/default/agent.json`, JSON.stringify(agent));
  return dir;
}

/** The load generator's and the machine's share of a phase, to tell a busy machine apart. */
export function cpuLine(cpu: CpuUse): string {
  const busy = cpu.otherPct > 20 ? "  ← the machine was busy with other work: rerun" : "";
  return ` load generator ${cpu.benchPct.toFixed(1)} % of one core, other processes ` +
    `${cpu.otherPct.toFixed(1)} % (of ${cpu.cores} cores)${busy}`;
}

/** What one bridge did under one load. */
export interface LoadResult {
  name: string;
  calls: number;
  latencies: number[];
  sent: number;
  lost: number;
  /**
   * Lost on the calls that never barged in: on GPT-Live a barge-in drops, by design, what Live
   * had not sent yet and what the bridge held back, which never reaches the caller.
   */
  lostUnbarged: number;
  cpu: CpuUse;
  /** RSS with every call open, before the traffic, less the fresh process's, per call, KB. */
  idlePerCallKb: number;
  /** Peak RSS (while every call was open) less the fresh process's, per call, KB. */
  peakPerCallKb: number;
  /** RSS once the heap settled with every call still open, per call, KB (if measured). */
  settledPerCallKb: number | null;
  /** Barge-ins on each barging call's first and second answer. */
  barges: BargeIn[][];
  markGapP99: number;
}

/**
 * Drives `calls` calls through a fresh bridge of `kind` for `seconds`; the first `bargeCalls`
 * of them barge in twice, at moments spread over two windows of the run (their first answer,
 * then their second).
 */
export async function loadRun(
  fake: FakeRealtime,
  started: { bridge: Bridge; stop(): Promise<void> },
  calls: number,
  run: { seconds: number; bargeCalls: number; settleSeconds?: number },
): Promise<LoadResult> {
  const { bridge, stop } = started;
  const kind = bridge.name;
  const fresh = (await processStats(bridge.pid)).rssKb;
  const rss = rssSampler(bridge.pid);
  const open: BridgedCall[] = [];
  // One at a time, so each call is paired with its own upstream session.
  for (let i = 0; i < calls; i++) open.push(await openBridgedCall(fake, bridge, i + 1));
  const idle = (await processStats(bridge.pid)).rssKb;
  const cpu = await cpuWindow(bridge.pid);
  const barges: BargeIn[][] = [[], []];
  const runStart = performance.now() + 50;
  const windows = [[0.15, 0.45], [0.55, 0.85]].map(([from, to]) =>
    Array.from({ length: run.bargeCalls }, (_, k) => k).sort(() => Math.random() - 0.5)
      .map((k) => runStart + (from + ((to - from) * k) / run.bargeCalls) * run.seconds * 1000)
  );
  const bargeIns = Promise.all(
    open.slice(0, run.bargeCalls).map(async (call, i) => {
      for (const [pass, at] of windows.entries()) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, at[i] - performance.now())));
        try {
          barges[pass].push(await bargeIn(call));
        } catch (err) {
          // No clear: nothing was playing at that instant (or the bridge never cleared).
          console.error(`${kind}: barge-in without clear (${(err as Error).message})`);
        }
      }
    }),
  );
  await drive(open.map((call) => (seq: number) => sendBridged(call, seq)), run.seconds);
  const cpuUse = await cpu();
  await bargeIns;
  await settle(() => open.every((c) => c.frames.done), 2000);
  const peak = await rss.stop();
  let settledPerCallKb: number | null = null;
  if (run.settleSeconds) {
    // With every call still open and quiet, wait for V8 to give memory back (RSS ≥ 10 % below
    // its peak) and stay steady for 5 s.
    const samples = [peak];
    const until = performance.now() + run.settleSeconds * 1000;
    while (performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      samples.push((await processStats(bridge.pid)).rssKb);
      const last = samples.slice(-10);
      const dropped = Math.min(...samples) < 0.9 * Math.max(...samples);
      if (dropped && last.length === 10 && Math.max(...last) - Math.min(...last) < 512) break;
    }
    const stillOpen = open.filter((c) => c.client.open).length;
    if (stillOpen === calls) settledPerCallKb = (samples.at(-1)! - fresh) / calls;
  }
  await Promise.all(open.map((c) => c.client.close()));
  await stop();
  const sent = open.reduce((n, c) => n + c.frames.sentCount, 0);
  return {
    name: kind,
    calls,
    idlePerCallKb: (idle - fresh) / calls,
    latencies: open.flatMap((c) => c.frames.latencies),
    sent,
    lost: sent - open.reduce((n, c) => n + c.frames.receivedCount, 0),
    lostUnbarged: open.slice(run.bargeCalls).reduce(
      (n, c) => n + c.frames.sentCount - c.frames.receivedCount,
      0,
    ),
    cpu: cpuUse,
    peakPerCallKb: (peak - fresh) / calls,
    settledPerCallKb,
    barges,
    markGapP99: percentile(open.flatMap((c) => c.markGaps), 99),
  };
}
