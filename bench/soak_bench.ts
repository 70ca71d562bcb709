/**
 * Soak: N concurrent calls (half ConversationRelay, half Media Streams) for M minutes against the
 * fakes, each call a few turns long and replaced by a new one when it hangs up. Reports errors
 * (target 0), lost records (0) and the service's memory over time (flat).
 *
 * Usage: deno run -A bench/soak_bench.ts [--quick] [--calls 200] [--minutes 10]
 */

import { CallStore } from "../lib/records/call_store.ts";
import { FakeOpenAI } from "../tests/fakes/fake_openai.ts";
import { FakeRealtime } from "../tests/fakes/fake_realtime.ts";
import { MediaStreamsClient } from "../tests/fakes/media_streams_client.ts";
import { RelayClient } from "../tests/fakes/relay_client.ts";
import { twilioParameters } from "../tests/helpers/service.ts";
import { callerFrame } from "../tests/helpers/realtime_harness.ts";
import { processStats, startServiceProcess } from "./service_process.ts";
import { benchOptions } from "./bench_options.ts";

const options = benchOptions({
  calls: { full: 200, quick: 40 },
  minutes: { full: 10, quick: 0.3 },
});
const CALLS = options.calls;
const DURATION_MS = options.minutes * 60_000;
const AUTH_TOKEN = "soak-auth-token";

const realtime = new FakeRealtime({ mode: "echo" });
// One base URL for both APIs, as with the real service: the text fake hands WebSocket upgrades
// (`/v1/realtime`) to the Realtime fake.
const openai = new FakeOpenAI({ upgrade: (req) => realtime.handle(req) });
openai.start();
const service = await startServiceProcess({
  OPENAI_API_KEY: openai.apiKey,
  OPENAI_BASE_URL: openai.baseUrl,
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  WELCOME_GREETING: "",
  REALTIME_GREETING: "",
  LOG_LEVEL: "error",
  MAX_CONCURRENT_CALLS: String(CALLS * 2),
});

const errors: string[] = [];
const callSids: string[] = [];
const started = performance.now();
const deadline = started + DURATION_MS;
const memory: { minute: number; rssMb: number }[] = [];
const sampler = setInterval(async () => {
  const { rssKb } = await processStats(service.pid);
  memory.push({
    minute: Math.round((performance.now() - started) / 6000) / 10,
    rssMb: rssKb / 1024,
  });
}, 10_000);

function random(min: number, max: number): number {
  return min + Math.random() * (max - min);
}

/** One relay call: a few prompts answered, then a hang-up. */
async function relayCall(): Promise<void> {
  const call = await RelayClient.connect(service.url, { authToken: AUTH_TOKEN });
  callSids.push(call.callSid);
  try {
    call.setup(
      await twilioParameters(service.url, {
        callSid: call.callSid,
        from: call.from,
        to: call.to,
        authToken: AUTH_TOKEN,
        path: "/twilio/voice/relay",
      }),
    );
    const turns = Math.ceil(random(2, 6));
    for (let t = 0; t < turns && performance.now() < deadline; t++) {
      call.prompt(`turn ${t}`);
      const reply = await call.turn(15_000);
      if (reply.text !== `You said: turn ${t}`) {
        errors.push(`relay: unexpected reply ${reply.text}`);
      }
      await new Promise((resolve) => setTimeout(resolve, random(500, 3000)));
    }
  } finally {
    await call.hangUp();
  }
}

/** One media-stream call: 50 frames/s both ways for a while, then `stop`. */
async function streamCall(): Promise<void> {
  const call = await MediaStreamsClient.connect(service.url, {
    authToken: AUTH_TOKEN,
    onMedia: () => {},
  });
  callSids.push(call.callSid);
  try {
    call.start(
      await twilioParameters(service.url, {
        callSid: call.callSid,
        authToken: AUTH_TOKEN,
        path: "/twilio/voice/realtime",
      }),
    );
    const frames = Math.round(random(10, 40) * 50);
    const t0 = performance.now();
    let sent = 0;
    for (; sent < frames && performance.now() < deadline; sent++) {
      call.media(callerFrame(sent));
      const due = t0 + (sent + 1) * 20;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
    // Echo mode: every frame sent comes back (give the last ones a moment).
    const waitUntil = performance.now() + 2000;
    while (call.receivedBytes < sent * 160 && performance.now() < waitUntil) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (call.receivedBytes < sent * 160) {
      errors.push(`stream: ${call.receivedBytes} of ${sent * 160} bytes came back`);
    }
    call.stop();
  } finally {
    await call.close();
  }
}

/** Keeps one call slot busy until the deadline. */
async function slot(index: number): Promise<void> {
  // Stagger the starts over the first 10 s.
  await new Promise((resolve) => setTimeout(resolve, (index / CALLS) * 10_000));
  while (performance.now() < deadline) {
    try {
      await (index % 2 === 0 ? relayCall() : streamCall());
    } catch (err) {
      errors.push(`${index % 2 === 0 ? "relay" : "stream"}: ${(err as Error).message}`);
    }
  }
}

await Promise.all(Array.from({ length: CALLS }, (_, i) => slot(i)));
clearInterval(sampler);
await service.stop({ keepKv: true });
await openai.close();
await realtime.close();

// Every call must have its record, completed.
const kv = await Deno.openKv(service.kvPath);
const store = new CallStore(kv);
let lost = 0;
let unfinished = 0;
for (const sid of callSids) {
  const records = await store.findBySid(sid);
  if (records.length === 0) lost++;
  else if (records.some((r) => r.outcome === "live")) unfinished++;
}
kv.close();
await service.removeKv();

const first = memory[Math.min(2, memory.length - 1)]?.rssMb ?? NaN;
const last = memory.at(-1)?.rssMb ?? NaN;
const report = {
  "concurrent calls": CALLS,
  minutes: options.minutes,
  "calls completed": callSids.length,
  errors: errors.length,
  "lost records": lost,
  "records not completed": unfinished,
  "RSS at 30 s, MB": Number(first.toFixed(1)),
  "RSS at end, MB": Number(last.toFixed(1)),
  "RSS max, MB": Number(Math.max(...memory.map((m) => m.rssMb)).toFixed(1)),
};
console.log("## Soak benchmark");
console.table(report);
console.log("memory over time (minute → RSS MB):");
console.log(memory.map((m) => `${m.minute}:${m.rssMb.toFixed(0)}`).join(" "));
for (const error of errors.slice(0, 10)) console.log(`error: ${error}`);
console.log(JSON.stringify({ bench: "soak", ...report }));
