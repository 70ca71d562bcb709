/**
 * `deno task mutate`: mutation testing of the pure core. Each mutant of a target module (see
 * `mutants.ts`) is written into a scratch copy of the project and that module's unit tests are
 * run against it; a mutant the tests still pass on has survived: a bug the tests cannot see.
 *
 * Usage: deno task mutate [--module lib/relay/heard_history.ts] [--workers 2] [--json out.json]
 *
 * Prints each target's score (killed / all) and every survivor with its place, and exits 1 when a
 * target scores under {@link MIN_SCORE} %.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { applyMutant, type Mutant, mutantsOf } from "./mutants.ts";

/** The modules mutated, each with the unit tests that pin it. */
export const TARGETS: { module: string; tests: string[] }[] = [
  { module: "lib/realtime/playout_tracker.ts", tests: ["lib/realtime/playout_tracker_test.ts"] },
  { module: "lib/relay/heard_history.ts", tests: ["lib/relay/heard_history_test.ts"] },
  { module: "lib/relay/history_budget.ts", tests: ["lib/relay/history_budget_test.ts"] },
  { module: "lib/relay/turn_loop.ts", tests: ["lib/relay/turn_loop_test.ts"] },
  { module: "lib/admin/twilio_signature.ts", tests: ["lib/admin/twilio_signature_test.ts"] },
  { module: "lib/admin/admin_access.ts", tests: ["lib/admin/admin_access_test.ts"] },
  { module: "lib/agents/profile_schema.ts", tests: ["lib/agents/profile_schema_test.ts"] },
  { module: "lib/agents/template.ts", tests: ["lib/agents/template_test.ts"] },
  { module: "lib/platform/model_prices.ts", tests: ["lib/platform/model_prices_test.ts"] },
  { module: "lib/realtime/held_audio.ts", tests: ["lib/realtime/held_audio_test.ts"] },
  { module: "lib/protocols/audio_splice.ts", tests: ["lib/protocols/audio_splice_test.ts"] },
  { module: "lib/sip/sip_goodbye.ts", tests: ["lib/sip/sip_goodbye_test.ts"] },
  { module: "lib/calls/dtmf_buffer.ts", tests: ["lib/calls/dtmf_buffer_test.ts"] },
  { module: "lib/protocols/lost_time.ts", tests: ["lib/protocols/lost_time_test.ts"] },
  { module: "lib/protocols/openai_sip.ts", tests: ["lib/protocols/openai_sip_test.ts"] },
  { module: "lib/protocols/openai_live.ts", tests: ["lib/protocols/openai_live_test.ts"] },
  {
    module: "lib/realtime/live_voice.ts",
    tests: ["lib/realtime/live_voice_test.ts", "lib/realtime/live_voice_queue_test.ts"],
  },
  {
    module: "lib/scenarios/scenario_checks.ts",
    tests: ["lib/scenarios/scenario_checks_test.ts"],
  },
  { module: "lib/records/call_follow.ts", tests: ["lib/records/call_follow_test.ts"] },
  { module: "lib/outbound/idempotency.ts", tests: ["lib/outbound/idempotency_test.ts"] },
  {
    module: "lib/scenarios/scenario_runs.ts",
    tests: ["lib/scenarios/scenario_runs_test.ts"],
  },
];

/** The score each target must reach. */
export const MIN_SCORE = 90;

/** What is copied into each worker's scratch project (the tests need nothing else). */
const COPIED = ["deno.json", "deno.lock", ".dvmrc", "lib", "tests", "assets", "scripts"];

const { values } = parseArgs({
  args: Deno.args,
  options: {
    module: { type: "string", multiple: true },
    workers: { type: "string", default: String(Math.min(2, navigator.hardwareConcurrency)) },
    json: { type: "string" },
  },
});

const root = new URL("../", import.meta.url).pathname;
const targets = values.module?.length
  ? TARGETS.filter((t) => values.module!.includes(t.module))
  : TARGETS;
if (targets.length === 0) throw new Error(`no target among ${TARGETS.map((t) => t.module)}`);
const workers = await Promise.all(
  Array.from({ length: Math.max(1, Number(values.workers)) }, () => scratchProject()),
);

interface Outcome {
  mutant: Mutant;
  status: "killed" | "survived" | "timeout";
}

const report: Record<string, { score: number; mutants: number; survivors: Outcome[] }> = {};
let failed = false;
const started = performance.now();
try {
  for (const target of targets) {
    const source = await Deno.readTextFile(`${root}${target.module}`);
    const baseline = await runTests(workers[0], target.tests, 120_000);
    if (baseline.status !== "passed") {
      throw new Error(`${target.tests.join(" ")} fail without any mutant: fix them first`);
    }
    // A mutant that loops forever is killed by a timeout well above the tests' own time.
    const timeoutMs = Math.max(10_000, baseline.ms * 4);
    const mutants = mutantsOf(source, target.module);
    const outcomes: Outcome[] = [];
    let next = 0;
    await Promise.all(workers.map(async (dir) => {
      while (next < mutants.length) {
        const mutant = mutants[next++];
        const path = `${dir}/${target.module}`;
        await Deno.writeTextFile(path, applyMutant(source, mutant));
        try {
          const run = await runTests(dir, target.tests, timeoutMs);
          const status = run.status === "passed" ? "survived" : run.status;
          outcomes.push({ mutant, status: status === "failed" ? "killed" : status });
        } finally {
          await Deno.writeTextFile(path, source);
        }
      }
    }));
    outcomes.sort((a, b) => a.mutant.start - b.mutant.start);
    const survivors = outcomes.filter((o) => o.status === "survived");
    const score = mutants.length ? 100 * (1 - survivors.length / mutants.length) : 100;
    report[target.module] = { score: round(score), mutants: mutants.length, survivors };
    if (score < MIN_SCORE) failed = true;
    const timeouts = outcomes.filter((o) => o.status === "timeout").length;
    console.log(
      `${target.module}: ${round(score)} % (${mutants.length - survivors.length} of ` +
        `${mutants.length} killed${timeouts ? `, ${timeouts} by timeout` : ""})`,
    );
    for (const { mutant } of survivors) {
      console.log(
        `  survived ${target.module}:${mutant.line}:${mutant.column} ${mutant.operator}: ` +
          `${oneLine(mutant.original)} → ${oneLine(mutant.replacement)}`,
      );
    }
  }
} finally {
  await Promise.all(workers.map((dir) => Deno.remove(dir, { recursive: true })));
}
const all = Object.values(report);
const total = all.reduce((n, r) => n + r.mutants, 0);
const survived = all.reduce((n, r) => n + r.survivors.length, 0);
console.log(
  `\nmutation score ${round(100 * (1 - survived / Math.max(1, total)))} % ` +
    `(${total - survived} of ${total} killed) in ${round((performance.now() - started) / 1000)} s`,
);
if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(report, null, 2));
if (failed) {
  console.log(`a target scored under ${MIN_SCORE} %`);
  Deno.exit(1);
}

/** A copy of what the unit tests need, in a temporary folder. */
async function scratchProject(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "callbridge-mutate-" });
  for (const entry of COPIED) {
    const { code } = await new Deno.Command("cp", { args: ["-R", `${root}${entry}`, dir] })
      .output();
    if (code !== 0) throw new Error(`could not copy ${entry}`);
  }
  return dir;
}

/** Runs `tests` in `dir` (no type check: a mutant may not type-check and still run). */
async function runTests(
  dir: string,
  tests: string[],
  timeoutMs: number,
): Promise<{ status: "passed" | "failed" | "timeout"; ms: number }> {
  const begun = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "--no-check", "--quiet", "-A", ...tests],
    cwd: dir,
    stdout: "null",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const { success, signal } = await child.status;
  clearTimeout(timer);
  const ms = performance.now() - begun;
  if (signal === "SIGKILL") return { status: "timeout", ms };
  return { status: success ? "passed" : "failed", ms };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > 70 ? `${flat.slice(0, 67)}…` : flat;
}
