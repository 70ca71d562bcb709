/**
 * parseReportedRun: a run as the runner reports it is taken as it is (nulls included); every
 * wrong, missing or extra field is a problem naming the field; what is not an object is refused.
 */

import assert from "node:assert/strict";
import { parseReportedRun, type ScenarioResult } from "./scenario_runs.ts";

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
