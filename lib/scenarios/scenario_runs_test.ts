/**
 * parseReportedRun: a run as the runner reports it is taken as it is (nulls included); every
 * wrong, missing or extra field is a problem naming the field; what is not an object is refused.
 * saveLastRun keeps any run it is given, however long its texts, within one KV value.
 */

import assert from "node:assert/strict";
import { lastRuns, parseReportedRun, saveLastRun, type ScenarioResult } from "./scenario_runs.ts";

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

Deno.test("parseReportedRun: every wrong, missing or extra field is named", () => {
  const { version: _version, ...missing } = RUN;
  const problems = (value: unknown) => {
    const parsed = parseReportedRun(value);
    assert.equal(parsed.ok, false);
    return parsed.ok ? [] : parsed.problems;
  };
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
});

Deno.test("saveLastRun: a run larger than a KV value is kept, its texts shortened", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scenario_runs_" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    // As large as a reported run may be (two bytes a character: not Latin-1), and a local run
    // whose one check quotes a long tool call's arguments.
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
    const local: ScenarioResult = {
      ...RUN,
      scenario: "long_arguments",
      checks: [{ ...RUN.checks[0], detail: `called with {"text":"${"x".repeat(100_000)}"}` }],
    };
    await saveLastRun(kv, reported);
    await saveLastRun(kv, local);
    const runs = await lastRuns(kv, "default");
    const kept = runs.get("hands_off")!;
    assert.equal(kept.checks.length, 100);
    assert.deepEqual(kept.checks.map((c) => c.status), reported.checks.map((c) => c.status));
    assert.ok(kept.checks.every((c, i) => c.detail.startsWith(`reason ${i} `)));
    assert.ok(kept.checks[0].detail.length < 2000, "the details were not shortened");
    const long = runs.get("long_arguments")!;
    assert.ok(long.checks[0].detail.startsWith('called with {"text":"xxx'));
    assert.ok(long.checks[0].detail.endsWith("…"));
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
