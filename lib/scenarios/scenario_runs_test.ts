/**
 * parseReportedRun: a run as the runner reports it is taken as it is (nulls included, every
 * check type, status and version); every wrong, missing or extra field is a problem naming the
 * field, each limit allowing its own length and refusing one more; what is not an object is
 * refused. saveLastRun keeps a run that fits one KV value exactly as given, under
 * `["scenario_run", agent, scenario]` for 30 days, and any larger run with its texts shortened —
 * by halves from 2000 characters, never below 40 — within one KV value; lastRuns gives an
 * agent's own runs only.
 */

import assert from "node:assert/strict";
import { CHECK_TYPES } from "./scenario.ts";
import { lastRuns, parseReportedRun, saveLastRun, type ScenarioResult } from "./scenario_runs.ts";
import { withTempKv } from "../../tests/helpers/temp_kv.ts";

const RUN: ScenarioResult = {
  agent: "default",
  scenario: "hands_off",
  description: "asks for a person",
  status: "fail",
  checks: [
    { name: "ended", type: "ended", status: "fail", detail: "the call ended caller-hangup" },
  ],
  error: null,
  callSid: "CA0123456789abcdef0123456789abcdef",
  version: "saved",
  startedAt: 1_764_000_000_000,
  durationMs: 512.5,
};

Deno.test("parseReportedRun: a reported run is kept as it is, nulls included", () => {
  assert.deepEqual(parseReportedRun(structuredClone(RUN)), { ok: true, result: RUN });
  const errored = { ...RUN, status: "error", checks: [], error: "no key", callSid: null };
  assert.deepEqual(parseReportedRun(errored), { ok: true, result: errored });
});

/** The problems found in `value`, which must be refused. */
function problems(value: unknown): string[] {
  const parsed = parseReportedRun(value);
  assert.equal(parsed.ok, false);
  return parsed.ok ? [] : parsed.problems;
}

/** `value` is accepted as it is. */
function accepted(value: unknown): void {
  assert.deepEqual(parseReportedRun(value), { ok: true, result: value });
}

Deno.test("parseReportedRun: every wrong, missing or extra field is named", () => {
  const { version: _version, ...missing } = RUN;
  assert.deepEqual(problems(missing), ["(top level) must have required property 'version'"]);
  assert.deepEqual(
    problems({
      ...RUN,
      callSid: "CA-not-a-sid",
      durationMs: -1,
      checks: [{ ...RUN.checks[0], status: "maybe" }],
    }),
    [
      "checks.0.status must be equal to one of the allowed values",
      'callSid must match pattern "^CA[0-9a-f]{32}$"',
      "durationMs must be >= 0",
    ],
  );
  assert.deepEqual(problems({ ...RUN, description: "x".repeat(2001) }), [
    "description must NOT have more than 2000 characters",
  ]);
  assert.deepEqual(problems("a run"), ["(top level) must be object"]);
  assert.deepEqual(problems(undefined), ["(top level) must be object"]);
  assert.deepEqual(problems({ ...RUN, passed: true }), [
    "(top level) must NOT have additional properties",
  ]);
  assert.deepEqual(problems({ ...RUN, checks: [{ ...RUN.checks[0], ms: 3 }] }), [
    "checks.0 must NOT have additional properties",
  ]);
});

Deno.test("parseReportedRun: each field of a run and of a check is required", () => {
  for (const field of Object.keys(RUN)) {
    const { [field]: _gone, ...rest } = RUN as unknown as Record<string, unknown>;
    assert.deepEqual(problems(rest), [`(top level) must have required property '${field}'`]);
  }
  for (const field of Object.keys(RUN.checks[0])) {
    const { [field]: _gone, ...check } = RUN.checks[0] as unknown as Record<string, unknown>;
    assert.deepEqual(problems({ ...RUN, checks: [check] }), [
      `checks.0 must have required property '${field}'`,
    ]);
  }
});

Deno.test("parseReportedRun: every check type, status and version is accepted", () => {
  assert.equal(CHECK_TYPES.length, 7, "the seven in the scenario format");
  for (const type of CHECK_TYPES) accepted({ ...RUN, checks: [{ ...RUN.checks[0], type }] });
  assert.deepEqual(problems({ ...RUN, checks: [{ ...RUN.checks[0], type: "guessed" }] }), [
    "checks.0.type must be equal to one of the allowed values",
  ]);
  for (const status of ["pass", "fail", "error"]) accepted({ ...RUN, status });
  assert.deepEqual(problems({ ...RUN, status: "skipped" }), [
    "status must be equal to one of the allowed values",
  ]);
  for (const version of ["saved", "edit"]) accepted({ ...RUN, version });
  assert.deepEqual(problems({ ...RUN, version: "draft" }), [
    "version must be equal to one of the allowed values",
  ]);
});

Deno.test("parseReportedRun: each limit allows its own length and refuses one more", () => {
  const check = RUN.checks[0];
  accepted({ ...RUN, agent: "a".repeat(64) });
  assert.deepEqual(problems({ ...RUN, agent: "a".repeat(65) }), [
    "agent must NOT have more than 64 characters",
  ]);
  accepted({ ...RUN, scenario: "s".repeat(200) });
  assert.deepEqual(problems({ ...RUN, scenario: "s".repeat(201) }), [
    "scenario must NOT have more than 200 characters",
  ]);
  accepted({ ...RUN, description: "x".repeat(2000) });
  accepted({ ...RUN, status: "error", error: "e".repeat(2000) });
  assert.deepEqual(problems({ ...RUN, status: "error", error: "e".repeat(2001) }), [
    "error must NOT have more than 2000 characters",
  ]);
  accepted({ ...RUN, checks: [{ ...check, name: "n".repeat(200), detail: "d".repeat(2000) }] });
  assert.deepEqual(problems({ ...RUN, checks: [{ ...check, name: "n".repeat(201) }] }), [
    "checks.0.name must NOT have more than 200 characters",
  ]);
  assert.deepEqual(problems({ ...RUN, checks: [{ ...check, detail: "d".repeat(2001) }] }), [
    "checks.0.detail must NOT have more than 2000 characters",
  ]);
  accepted({ ...RUN, checks: Array.from({ length: 100 }, () => check) });
  assert.deepEqual(problems({ ...RUN, checks: Array.from({ length: 101 }, () => check) }), [
    "checks must NOT have more than 100 items",
  ]);
  accepted({ ...RUN, startedAt: 0, durationMs: 0 });
  assert.deepEqual(problems({ ...RUN, startedAt: -1 }), ["startedAt must be >= 0"]);
  assert.deepEqual(problems({ ...RUN, startedAt: 1.5 }), ["startedAt must be integer"]);
});

/** `text` cut to `length` characters, the last an ellipsis. */
const cutTo = (text: string, length: number) => `${text.slice(0, length - 1)}…`;

Deno.test("saveLastRun: the largest reported run is kept, its texts cut until it fits", () =>
  withTempKv(async (kv) => {
    // As large as a reported run may be (two bytes a character: not Latin-1).
    const reported: ScenarioResult = {
      ...RUN,
      description: "é€".repeat(1000),
      checks: Array.from({ length: 100 }, (_, i) => ({
        name: `check ${i} €`.padEnd(200, "€"),
        type: "judged" as const,
        status: i % 2 ? "pass" as const : "fail" as const,
        detail: `reason ${i} `.padEnd(2000, "€"),
      })),
    };
    assert.equal(parseReportedRun(structuredClone(reported)).ok, true);
    await saveLastRun(kv, reported);
    // Cut to 2000, 1000, 500, 250 and 125 it is still over 30,000 JSON characters: to 62.
    assert.deepEqual((await lastRuns(kv, "default")).get("hands_off"), {
      ...reported,
      description: cutTo(reported.description, 62),
      checks: reported.checks.map((c) => ({
        ...c,
        name: cutTo(c.name, 62),
        detail: cutTo(c.detail, 62),
      })),
    });
  }));

/** A KV in a temporary file, and the `set`s made on it (key and options). */
function withKv(
  fn: (kv: Deno.Kv, sets: { key: Deno.KvKey; options: unknown }[]) => Promise<void>,
): Promise<void> {
  return withTempKv((kv) => {
    const sets: { key: Deno.KvKey; options: unknown }[] = [];
    const spied = new Proxy(kv, {
      get(target, name) {
        if (name === "set") {
          return (key: Deno.KvKey, value: unknown, options?: { expireIn?: number }) => {
            sets.push({ key, options });
            return target.set(key, value, options);
          };
        }
        const value = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return fn(spied, sets);
  });
}

/** The run kept for `run`'s scenario. */
async function saved(kv: Deno.Kv, run: ScenarioResult): Promise<ScenarioResult> {
  await saveLastRun(kv, run);
  const kept = (await lastRuns(kv, run.agent)).get(run.scenario);
  assert.ok(kept, `${run.scenario} was kept`);
  return kept;
}

Deno.test("saveLastRun: a run that fits is kept as given, 30 days, by scenario", async () => {
  await withKv(async (kv, sets) => {
    const errored = { ...RUN, status: "error" as const, error: "no key", callSid: null };
    assert.deepEqual(await saved(kv, errored), errored);
    assert.deepEqual(sets, [
      { key: ["scenario_run", "default", "hands_off"], options: { expireIn: 2_592_000_000 } },
    ]);
    assert.deepEqual((await kv.get(["scenario_run", "default", "hands_off"])).value, errored);
  });
});

Deno.test("lastRuns: an agent's own runs, the last of each scenario", async () => {
  await withKv(async (kv) => {
    await saveLastRun(kv, RUN);
    const rerun = { ...RUN, status: "pass" as const, startedAt: RUN.startedAt + 1 };
    await saveLastRun(kv, rerun);
    const other = { ...RUN, agent: "other", scenario: "other_only" };
    await saveLastRun(kv, other);
    await saveLastRun(kv, { ...RUN, scenario: "greets" });
    await kv.set(["call", "rec-1"], { id: "rec-1" }); // not a run
    const runs = await lastRuns(kv, "default");
    assert.deepEqual([...runs.keys()].sort(), ["greets", "hands_off"]);
    assert.deepEqual(runs.get("hands_off"), rerun);
    assert.deepEqual([...(await lastRuns(kv, "other")).values()], [other]);
    assert.equal((await lastRuns(kv, "nobody")).size, 0);
  });
});

/** `run` with its description padded so that its JSON is `length` characters. */
function withJsonLength(run: ScenarioResult, length: number): ScenarioResult {
  const padding = length - JSON.stringify({ ...run, description: "" }).length;
  const padded = { ...run, description: "d".repeat(padding) };
  assert.equal(JSON.stringify(padded).length, length);
  return padded;
}

Deno.test("saveLastRun: whole up to 30,000 JSON characters (60 KB), cut past it", async () => {
  await withKv(async (kv) => {
    const details = Array.from({ length: 16 }, (_, i) => `detail ${i} `.padEnd(1750, "a"));
    const run = {
      ...RUN,
      checks: details.map((detail, i) => ({ ...RUN.checks[0], name: `check ${i}`, detail })),
    };
    const atLimit = withJsonLength(run, 30_000);
    assert.ok(atLimit.description.length < 1000);
    assert.deepEqual(await saved(kv, atLimit), atLimit);
    // One character more: texts of 2000 would not do, so they are cut to 1000.
    const past = withJsonLength(run, 30_001);
    const kept = await saved(kv, past);
    assert.equal(kept.description, past.description);
    assert.deepEqual(kept.checks.map((c) => c.detail), details.map((d) => cutTo(d, 1000)));
    assert.deepEqual(kept.checks.map((c) => c.name), run.checks.map((c) => c.name));
  });
});

Deno.test("saveLastRun: texts are cut to 2000 characters first; one of 2000 is whole", async () => {
  await withKv(async (kv) => {
    const detail = `called with {"text":"${"x".repeat(100_000)}"}`;
    const run: ScenarioResult = {
      ...RUN,
      scenario: "long_arguments",
      description: "y".repeat(2000),
      status: "error",
      error: "z".repeat(5000),
      checks: [{ ...RUN.checks[0], detail }],
    };
    const kept = await saved(kv, run);
    assert.equal(kept.description, run.description);
    assert.equal(kept.error, cutTo(run.error!, 2000));
    assert.equal(kept.checks[0].detail, cutTo(detail, 2000));
    assert.equal(kept.checks[0].detail.length, 2000);
  });
});

Deno.test("saveLastRun: texts are never cut below 40 characters", async () => {
  await withKv(async (kv) => {
    // 200 checks fit with texts of 40 characters, not of 62 (the step before).
    const checks = Array.from({ length: 200 }, (_, i) => ({
      ...RUN.checks[0],
      name: `check ${i} `.padEnd(300, "n"),
      detail: `reason ${i} `.padEnd(300, "r"),
    }));
    const kept = await saved(kv, { ...RUN, checks });
    assert.deepEqual(kept.checks.map((c) => c.name), checks.map((c) => cutTo(c.name, 40)));
    assert.deepEqual(kept.checks.map((c) => c.detail), checks.map((c) => cutTo(c.detail, 40)));
    assert.equal(kept.description, RUN.description);
  });
});
