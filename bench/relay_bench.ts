/**
 * ConversationRelay benchmark: token latency added by the service and interrupt → abort time.
 *
 * The service runs as its own process (`main.ts`); the fake OpenAI and the fake Twilio clients run
 * here, so one clock times a token from the fake writing it to the client receiving it.
 * Usage: deno run -A bench/relay_bench.ts [--calls 50] [--turns 6] [--tokens 40]
 */

import { parseArgs } from "node:util";
import OpenAI from "openai";
import { FakeOpenAI } from "../tests/fakes/fake_openai.ts";
import { RelayClient } from "../tests/fakes/relay_client.ts";
import { twilioParameters } from "../tests/helpers/service.ts";
import { percentile, processStats, startServiceProcess } from "./service_process.ts";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "50" },
    turns: { type: "string", default: "6" },
    tokens: { type: "string", default: "40" },
    "token-delay": { type: "string", default: "15" },
  },
});
const CALLS = Number(values.calls);
const TURNS = Number(values.turns);
const TOKENS = Number(values.tokens);
const TOKEN_DELAY = Number(values["token-delay"]);
const AUTH_TOKEN = "bench-auth-token";

let counter = 0;
function uniqueTokens(n: number): string[] {
  return Array.from({ length: n }, () => `w${counter++} `);
}

const fake = new FakeOpenAI();
fake.start();
const emitted = new Map<string, number>();
fake.onToken = (_req, token) => emitted.set(token, performance.now());

const service = await startServiceProcess({
  OPENAI_API_KEY: fake.apiKey,
  OPENAI_BASE_URL: fake.baseUrl,
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  WELCOME_GREETING: "",
  LOG_LEVEL: "warn",
});

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
await Promise.all(clients.map(async (client, i) => {
  client.setup(parameters[i]);
  for (let t = 0; t < TURNS; t++) {
    client.prompt(`question ${t}`);
    await client.turn(30000);
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
await Promise.all(clients.map(async () => {
  for (let t = 0; t < TURNS; t++) {
    const stream = await sdk.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "q" }],
      stream: true,
    });
    for await (const chunk of stream) {
      const token = chunk.choices[0]?.delta?.content;
      const emit = token ? emitted.get(token) : undefined;
      if (emit !== undefined) direct.push(performance.now() - emit);
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
await service.stop();
await fake.close();

const round = (n: number) => Math.round(n * 1000) / 1000;
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
  "interrupt→abort p50 ms": percentile(abortMs, 50),
  "interrupt→abort p99 ms": percentile(abortMs, 99),
  "interrupt→abort max ms": round(Math.max(...abortMs)),
  "service CPU % of one core": Number(cpuPct.toFixed(1)),
  "service RSS MB": Number((after.rssKb / 1024).toFixed(1)),
};
console.log("## ConversationRelay benchmark");
console.table(report);
console.log(JSON.stringify({ bench: "relay", ...report }));
