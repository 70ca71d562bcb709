/**
 * ConversationRelay benchmark: token latency added by the service (each token, the first token
 * of a turn, the gaps between tokens, each beside the same load straight to the SDK in the same
 * run, so the load generator's own queueing counts on both sides), interrupt
 * → abort time, and what a call costs: CPU ms per call and RSS over many calls one after another.
 *
 * The service runs as its own process (`main.ts`); the fake OpenAI and the fake Twilio clients run
 * here, so one clock times a token from the fake writing it to the client receiving it.
 * Usage: deno run -A bench/relay_bench.ts [--quick] [--calls 50] [--turns 6] [--tokens 40]
 *   [--sequential 500]
 */

import OpenAI from "openai";
import { FakeOpenAI } from "../tests/fakes/fake_openai.ts";
import { RelayClient } from "../tests/fakes/relay_client.ts";
import { twilioParameters } from "../tests/helpers/service.ts";
import { benchOptions } from "./bench_options.ts";
import { oneRelayCall, RELAY_AUTH_TOKEN, relayServiceEnv } from "./relay_call.ts";
import { percentile, processStats, startServiceProcess } from "./service_process.ts";

const options = benchOptions({
  calls: { full: 50, quick: 50 },
  turns: { full: 6, quick: 2 },
  tokens: { full: 40, quick: 20 },
  "token-delay": { full: 15, quick: 15 },
  sequential: { full: 500, quick: 100 },
});
const CALLS = options.calls;
const TURNS = options.turns;
const TOKENS = options.tokens;
const TOKEN_DELAY = options["token-delay"];
const SEQUENTIAL = options.sequential;
const AUTH_TOKEN = RELAY_AUTH_TOKEN;

let counter = 0;
function uniqueTokens(n: number): string[] {
  return Array.from({ length: n }, () => `w${counter++} `);
}

const fake = new FakeOpenAI();
fake.start();
const emitted = new Map<string, number>();
/** For a reply's first token: how long the fake took from the request to writing it. */
const fakeTtft = new Map<string, number>();
fake.onToken = (req, token, index) => {
  const now = performance.now();
  emitted.set(token, now);
  if (index === 0) fakeTtft.set(token, now - req.receivedAt);
};

const service = await startServiceProcess(relayServiceEnv(fake));

// 1. Token latency through the service, CALLS calls at once, TURNS turns each.
for (let i = 0; i < CALLS * TURNS; i++) {
  fake.script({ tokens: uniqueTokens(TOKENS), tokenDelayMs: TOKEN_DELAY });
}
const before = await processStats(service.pid);
const started = performance.now();
const clients = await Promise.all(
  Array.from(
    { length: CALLS },
    () => RelayClient.connect(service.url, { authToken: AUTH_TOKEN, denoWebSocket: true }),
  ),
);
// What Twilio sends on each socket: the webhook's TwiML parameters (the call's token).
const parameters = await Promise.all(clients.map((client) =>
  twilioParameters(service.url, {
    callSid: client.callSid,
    from: client.from,
    to: client.to,
    authToken: AUTH_TOKEN,
    path: "/twilio/voice/relay",
  })
));
/**
 * What the service adds to the time to first token (prompt → first token at the client, less the
 * fake's own request → first token) and to each gap between a turn's tokens (the gap at the
 * client less the gap at which the fake wrote them): the same load, straight, adds nothing.
 */
const ttft: number[] = [];
/** The same for each call's first turn, which also waits for the call's set-up (its agent). */
const firstTtft: number[] = [];
const gaps: number[] = [];
await Promise.all(clients.map(async (client, i) => {
  client.setup(parameters[i]);
  for (let t = 0; t < TURNS; t++) {
    const from = client.arrivals.length;
    const asked = performance.now();
    client.prompt(`question ${t}`);
    await client.turn(30000);
    const texts = client.received.slice(from).flatMap((m, k) =>
      m.type === "text" && emitted.has(String(m.token))
        ? [{ at: client.arrivals[from + k], emit: emitted.get(String(m.token))!, m }]
        : []
    );
    const added = texts[0].at - asked - (fakeTtft.get(String(texts[0].m.token)) ?? NaN);
    (t === 0 ? firstTtft : ttft).push(added);
    for (let k = 1; k < texts.length; k++) {
      gaps.push(texts[k].at - texts[k - 1].at - (texts[k].emit - texts[k - 1].emit));
    }
  }
}));
const elapsed = (performance.now() - started) / 1000;
const after = await processStats(service.pid);
const added: number[] = [];
for (const client of clients) {
  client.received.forEach((m, i) => {
    const emit = emitted.get(String(m.token));
    if (m.type === "text" && emit !== undefined) added.push(client.arrivals[i] - emit);
  });
}

// 2. The same load straight from the fake to an SDK client in this process: the floor.
const sdk = new OpenAI({ apiKey: fake.apiKey, baseURL: fake.baseUrl, maxRetries: 0 });
for (let i = 0; i < CALLS * TURNS; i++) {
  fake.script({ tokens: uniqueTokens(TOKENS), tokenDelayMs: TOKEN_DELAY });
}
const direct: number[] = [];
/** The same measures straight: request → first token, less the fake's own; and the gaps. */
const directTtft: number[] = [];
const directGaps: number[] = [];
await Promise.all(clients.map(async () => {
  for (let t = 0; t < TURNS; t++) {
    const asked = performance.now();
    const stream = await sdk.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "q" }],
      stream: true,
    });
    let last: { at: number; emit: number } | null = null;
    for await (const chunk of stream) {
      const token = chunk.choices[0]?.delta?.content;
      const emit = token ? emitted.get(token) : undefined;
      if (emit === undefined) continue;
      const at = performance.now();
      direct.push(at - emit);
      if (last) directGaps.push(at - last.at - (emit - last.emit));
      else directTtft.push(at - asked - (fakeTtft.get(token!) ?? NaN));
      last = { at, emit };
    }
  }
}));

// 3. Interrupt → upstream request aborted: every call interrupts its streaming reply after a
// different number of tokens, so interrupts land while the other calls keep streaming.
for (let i = 0; i < CALLS; i++) {
  fake.script({ tokens: uniqueTokens(TOKENS), tokenDelayMs: TOKEN_DELAY });
}
const abortMs: number[] = [];
const firstRequest = fake.requests.length;
await Promise.all(clients.map(async (client, index) => {
  client.prompt("tell me a long story");
  for (let k = 0; k <= index % (TOKENS - 2); k++) await client.next((m) => m.type === "text");
  const request = fake.requests.slice(firstRequest).find((r) =>
    r.tokensSent.includes(String(client.received.at(-1)?.token))
  );
  if (!request) throw new Error("no upstream request found for the call");
  const sentAt = performance.now();
  client.interrupt("", 10);
  await request.aborted;
  abortMs.push((request.abortedAt ?? NaN) - sentAt);
}));

await Promise.all(clients.map((c) => c.hangUp()));

// 4. Calls one after another (one turn each): CPU per call, and RSS over the run (flat).
const sequentialStart = await processStats(service.pid);
const rssOverCalls: { calls: number; rssMb: number }[] = [];
for (let i = 0; i < SEQUENTIAL; i++) {
  fake.script({ tokens: uniqueTokens(10) });
  await oneRelayCall(service.url, AUTH_TOKEN);
  if ((i + 1) % Math.max(1, Math.floor(SEQUENTIAL / 10)) === 0) {
    rssOverCalls.push({
      calls: i + 1,
      rssMb: (await processStats(service.pid)).rssKb / 1024,
    });
  }
}
const sequentialEnd = await processStats(service.pid);
await service.stop();
await fake.close();

const round = (n: number) => Math.round(n * 1000) / 1000;
/** RSS growth per call from the middle sample to the last one. */
function rssPerCallSecondHalf(): number {
  const middle = rssOverCalls[Math.floor(rssOverCalls.length / 2) - 1];
  const last = rssOverCalls.at(-1);
  if (!middle || !last || last.calls === middle.calls) return NaN;
  return Math.round(((last.rssMb - middle.rssMb) * 1024) / (last.calls - middle.calls) * 10) / 10;
}
const cpuPct = ((after.cpuMs - before.cpuMs) / (elapsed * 1000)) * 100;
const report = {
  calls: CALLS,
  tokens: added.length,
  seconds: Number(elapsed.toFixed(2)),
  "through service p50 ms": percentile(added, 50),
  "through service p99 ms": percentile(added, 99),
  "direct p50 ms": percentile(direct, 50),
  "direct p99 ms": percentile(direct, 99),
  "added p50 ms": round(percentile(added, 50) - percentile(direct, 50)),
  "added p99 ms": round(percentile(added, 99) - percentile(direct, 99)),
  "added TTFT, first turn, p50 ms": percentile(firstTtft, 50),
  "added TTFT, first turn, p99 ms": percentile(firstTtft, 99),
  "added TTFT, later turns, p50 ms": percentile(ttft, 50),
  "added TTFT, later turns, p99 ms": percentile(ttft, 99),
  "the same straight to the SDK, p50 / p99 ms": `${percentile(directTtft, 50)} / ${
    percentile(directTtft, 99)
  }`,
  "TTFT p99 over direct ms (goal ≤ 1)": round(percentile(ttft, 99) - percentile(directTtft, 99)),
  "added token gap p50 ms": percentile(gaps, 50),
  "added token gap p99 ms": percentile(gaps, 99),
  "the same straight to the SDK, p99 ms": percentile(directGaps, 99),
  "token gap p99 over direct ms (goal ≤ 2)": round(
    percentile(gaps, 99) - percentile(directGaps, 99),
  ),
  "interrupt→abort p50 ms": percentile(abortMs, 50),
  "interrupt→abort p99 ms": percentile(abortMs, 99),
  "interrupt→abort max ms": round(Math.max(...abortMs)),
  "service CPU % of one core": Number(cpuPct.toFixed(1)),
  "service RSS MB": Number((after.rssKb / 1024).toFixed(1)),
  "sequential calls": SEQUENTIAL,
  "CPU ms per call (goal ≤ 10)": round((sequentialEnd.cpuMs - sequentialStart.cpuMs) / SEQUENTIAL),
  "RSS MB before / after the sequential calls": `${(sequentialStart.rssKb / 1024).toFixed(1)} / ${
    (sequentialEnd.rssKb / 1024).toFixed(1)
  }`,
  // The first calls grow the V8 heap to its working size (bench/relay_profile.ts shows the JS
  // heap after GC flat over 2,000 calls); flat RSS is read over the second half.
  "RSS KB per call, second half (goal ≈ 0)": rssPerCallSecondHalf(),
};
console.log("## ConversationRelay benchmark");
console.table(report);
console.log(
  `RSS over the sequential calls (calls → MB): ${
    rssOverCalls.map((r) => `${r.calls}:${r.rssMb.toFixed(1)}`).join(" ")
  }`,
);
console.log(JSON.stringify({ bench: "relay", ...report }));
