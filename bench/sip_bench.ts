/**
 * SIP benchmark: N concurrent SIP calls per surface (GPT-Live and Realtime) in the same run,
 * against the fake OpenAI SIP API, with the service as its own process. Only control events pass
 * through the service on this path, so what is measured is: the webhook → accept time, the
 * sideband's added latency (a function call sent on each call's sideband → its output back,
 * `send_dtmf` of one key: on GPT-Live one `transport.dtmf.send` on the sideband, on Realtime a
 * refusal, so the tool's own work is nil either way), and the service's CPU and RSS per call with
 * every call open. The load generator's and the machine's other CPU are printed with each row:
 * compare rows within one run only.
 * Usage: deno run -A bench/sip_bench.ts [--quick] [--calls 200] [--rounds 5]
 */

import { FakeRealtime } from "../tests/fakes/fake_realtime.ts";
import { FakeSip, signWebhook, TEST_WEBHOOK_SECRET } from "../tests/fakes/fake_sip.ts";
import { benchOptions } from "./bench_options.ts";
import { cpuLine, cpuWindow, quietAgentsDir, serviceEnv } from "./realtime_load.ts";
import { recordPath } from "./path_summary.ts";
import { percentile, processStats, startServiceProcess } from "./service_process.ts";

const options = benchOptions({
  calls: { full: 200, quick: 20 },
  rounds: { full: 5, quick: 2 },
});
const CALLS = options.calls;
const ROUNDS = options.rounds;

const fake = new FakeRealtime({ mode: "echo" });
const sip = new FakeSip();
fake.sip = sip;
const baseUrl = fake.start();
const agentsDir = await quietAgentsDir();
const rows: string[] = [];

for (const surface of ["live", "realtime"] as const) {
  const service = await startServiceProcess({
    ...serviceEnv(baseUrl, agentsDir, CALLS + 10),
    VOICE_MODE: "sip",
    OPENAI_PROJECT_ID: "proj_bench",
    OPENAI_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    OPENAI_VOICE_ENGINE: surface,
    // On Realtime, send_dtmf is refused (its sideband has no key-tone command; GPT-Live sends
    // transport.dtmf.send): the refusal's warning per round trip is no measurement.
    ...(surface === "realtime" ? { LOG_LEVEL: "error" } : {}),
  });
  const fresh = (await processStats(service.pid)).rssKb;
  const accepts: number[] = [];
  const sidebandsBefore = sip.sidebands.items.length;
  // All calls at once, as a burst of incoming calls would come.
  const ids = await Promise.all(Array.from({ length: CALLS }, async () => {
    const events = sip.incoming({});
    const event = surface === "live" ? events.live : events.realtime;
    const id = surface === "live" ? events.live.data.session_id : events.realtime.data.call_id;
    const body = JSON.stringify(event);
    const start = performance.now();
    const accepted = sip.requests.waitFor((r) => r.action === "accept" && r.id === id, {
      what: `accept of ${id}`,
      timeoutMs: 60_000,
    });
    const res = await fetch(`${service.url}/openai/webhook`, {
      method: "POST",
      headers: signWebhook(body, TEST_WEBHOOK_SECRET),
      body,
    });
    await res.body?.cancel();
    await accepted;
    accepts.push(performance.now() - start);
    return id;
  }));
  const sidebands = await Promise.all(ids.map((id) => sip.sideband(id, sidebandsBefore)));
  const open = (await processStats(service.pid)).rssKb;
  const cpu = await cpuWindow(service.pid);
  const cpuBefore = (await processStats(service.pid)).cpuMs;
  const outputType = surface === "live" ? "response.item.create" : "conversation.item.create";
  const controls: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(sidebands.map(async (sideband) => {
      const seen = sideband.of(outputType).length;
      const start = performance.now();
      const answered = sideband.events.waitFor((e) => e.type === outputType, {
        what: "a tool output",
        from: sideband.events.items.length,
        timeoutMs: 30_000,
      });
      sideband.call("send_dtmf", JSON.stringify({ digits: "1" }));
      await answered;
      if (sideband.of(outputType).length > seen) controls.push(performance.now() - start);
    }));
  }
  const cpuMs = (await processStats(service.pid)).cpuMs - cpuBefore;
  const use = await cpu();
  await service.stop();
  const name = surface === "live" ? "SIP, GPT-Live sideband" : "SIP, Realtime sideband";
  rows.push(
    `${name.padEnd(24)} | ${String(CALLS).padStart(5)} | ` +
      `${percentile(accepts, 50).toFixed(1).padStart(8)} | ${
        percentile(accepts, 99).toFixed(1).padStart(8)
      } | ` +
      `${percentile(controls, 50).toFixed(2).padStart(8)} | ${
        percentile(controls, 99).toFixed(2).padStart(8)
      } | ` +
      `${(cpuMs / (CALLS * ROUNDS)).toFixed(2).padStart(9)} | ` +
      `${((open - fresh) / CALLS).toFixed(0).padStart(8)} |`,
  );
  console.log(`${name}: service ${use.servicePct.toFixed(1)} % of one core;${cpuLine(use)}`);
  await recordPath({
    path: surface === "live" ? "SIP, GPT-Live" : "SIP, Realtime",
    calls: CALLS,
    cpuPctPerCall: use.servicePct / CALLS,
    rssKbPerCall: (open - fresh) / CALLS,
    addedP99Ms: percentile(controls, 99),
    what: `only control events pass through the service: a sideband function call → its output ` +
      `back, p99; CPU over ${ROUNDS} control rounds per call back to back; RSS, every call open`,
  });
}

console.log(
  `\n${CALLS} concurrent SIP calls per surface, ${ROUNDS} control round trips each (same run):\n` +
    `${
      "path".padEnd(24)
    } | calls | accept50 | accept99 | ctl p50 | ctl p99 | CPU ms/rt | KB/call |\n` +
    `${
      "-".repeat(24)
    } | ----- | -------- | -------- | -------- | -------- | --------- | -------- |`,
);
for (const row of rows) console.log(row);
console.log(
  "accept: webhook POST → the accept at the fake (ms); ctl: a function call on the sideband → its " +
    "output back (ms), the latency the service adds to a SIP call's control events (its audio " +
    "never passes through it); CPU ms per control round trip; RSS growth per open call (KB).",
);
await fake.close();
await Deno.remove(agentsDir, { recursive: true });
