/**
 * Scenario files: a good file of each caller kind parses to what the runner runs; a malformed one
 * names the file and the field, every problem at once; a check naming a tool the agent lacks is
 * refused; and every scenario shipped with the example agents passes.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadProfileFiles } from "../agents/profile_folders.ts";
import { loadScenarios, parseScenario, SCENARIO_CALLER, toolNamesOf } from "./scenario.ts";

const FILE = "assets/agents/default/scenarios/x.json";
const WHERE = { file: FILE, agent: "default", tools: ["end_call", "transfer_to_human"] };

function problemsOf(value: unknown): string[] {
  const parsed = parseScenario(JSON.stringify(value), WHERE);
  assert.equal(parsed.ok, false, "the file should have been refused");
  return parsed.ok ? [] : parsed.problems;
}

Deno.test("a scripted scenario parses, with named checks and defaults", () => {
  const parsed = parseScenario(
    JSON.stringify({
      caller: { turns: [{ say: "hi" }, { press: "12#" }, { say: "stop", interrupt: true }] },
      checks: [
        { type: "tool_called", tool: "end_call", argumentsMatch: "bye" },
        { type: "transcript_contains", text: "Goodbye" },
        { type: "latency_under", ms: 900 },
      ],
    }),
    WHERE,
  );
  assert.ok(parsed.ok);
  const { scenario } = parsed;
  assert.equal(scenario.name, "x");
  assert.equal(scenario.from, SCENARIO_CALLER);
  assert.deepEqual(scenario.caller, {
    kind: "scripted",
    turns: [{ say: "hi" }, { press: "12#" }, { say: "stop", interrupt: true }],
  });
  assert.deepEqual(scenario.checks.map((c) => c.name), [
    "end_call was called with arguments ~ /bye/",
    'the agent says "Goodbye"',
    "turns under 900 ms",
  ]);
});

Deno.test("a model-played caller parses with its default turns", () => {
  const parsed = parseScenario(
    JSON.stringify({
      from: "+15550100123",
      params: { customerName: "Sam" },
      caller: { persona: "Sam", goal: "book" },
      checks: [{ type: "judged", rubric: "polite", name: "polite" }],
    }),
    WHERE,
  );
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.scenario.caller, {
    kind: "model",
    persona: "Sam",
    goal: "book",
    maxTurns: 8,
    model: null,
  });
  assert.deepEqual(parsed.scenario.checks, [
    { type: "judged", rubric: "polite", model: null, name: "polite" },
  ]);
  assert.deepEqual(parsed.scenario.params, { customerName: "Sam" });
});

Deno.test("a malformed scenario names the file and every field at fault", () => {
  assert.deepEqual(
    problemsOf({
      from: "555",
      caller: { persona: "Sam", turns: [{ press: "x" }] },
      checks: [{ type: "ended" }, { type: "latency_under", ms: "fast" }, { type: "nope" }],
    }).sort(),
    [
      `${FILE}: caller.persona cannot be given with turns: a caller is scripted or played by a model (got "Sam")`,
      `${FILE}: caller.turns[0].press must be keys of a phone pad (0-9, * and #) (got "x")`,
      `${FILE}: checks[0].outcome is required`,
      `${FILE}: checks[1].ms must be a number from 1 to 600000 (got "fast")`,
      `${FILE}: checks[2].type must be one of tool_called, tool_not_called, ended, ` +
      `transcript_contains, transcript_excludes, latency_under, judged (got "nope")`,
      `${FILE}: from must be an E.164 number like +15550100123, or client:<name> (got "555")`,
    ],
  );
  assert.deepEqual(problemsOf({ caller: { goal: "x" }, checks: [] }), [
    `${FILE}: caller.persona is required`,
  ]);
  assert.deepEqual(problemsOf({ checks: [], extra: 1 }).sort(), [
    `${FILE}: caller is required`,
    `${FILE}: extra is not a known field (known: description, from, params, caller, checks)`,
  ]);
  const broken = parseScenario("{ not json", WHERE);
  assert.ok(!broken.ok && broken.problems[0].startsWith(`${FILE}: is not valid JSON`));
});

Deno.test("a scripted turn must do something, and interrupt only an answer before it", () => {
  assert.deepEqual(
    problemsOf({
      caller: { turns: [{ say: "a", interrupt: true }, {}, { press: "1", interrupt: true }] },
      checks: [],
    }),
    [
      `${FILE}: caller.turns[0].interrupt has no answer before it to interrupt`,
      `${FILE}: caller.turns[1] must say, press or hang up`,
      `${FILE}: caller.turns[2].interrupt needs something to say`,
    ],
  );
});

Deno.test("a scenario that names an unknown tool is refused", () => {
  assert.deepEqual(
    problemsOf({
      caller: { turns: [{ say: "hi" }] },
      checks: [
        { type: "tool_not_called", tool: "transfer_to_humans" },
        { type: "ended", outcome: "agent-ended", argumentsMatch: "(" },
      ],
    }),
    [
      `${FILE}: checks[0].tool "transfer_to_humans" is not a tool of agent "default" ` +
      `(its tools: end_call, transfer_to_human)`,
      `${FILE}: checks[1].argumentsMatch is not a regular expression`,
      `${FILE}: checks[1] has arguments, which only tool_called checks take`,
    ],
  );
});

Deno.test("a tool_called check's arguments must be a JSON Schema, named before anything runs", () => {
  const problems = problemsOf({
    caller: { turns: [{ say: "hi" }] },
    checks: [
      { type: "tool_called", tool: "end_call", arguments: { type: "object", required: "reason" } },
      { type: "tool_called", tool: "end_call", arguments: { type: "object", required: ["x"] } },
    ],
  });
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(problems[0], /^.*: checks\[0\]\.arguments is not a JSON Schema \(.*required.*\)$/);
});

Deno.test("every shipped scenario passes, and both example agents ship some", async () => {
  const dir = fileURLToPath(new URL("../../assets/agents", import.meta.url));
  const profiles = await loadProfileFiles(dir);
  for (const agent of ["appointments", "default"]) {
    const tools = toolNamesOf(profiles.get(agent)!.profile);
    const entries = await loadScenarios(dir, agent, tools);
    assert.ok(entries.length >= 2, `${agent} ships ${entries.length} scenarios`);
    for (const entry of entries) {
      assert.ok(entry.parsed.ok, entry.parsed.ok ? "" : entry.parsed.problems.join("\n"));
    }
  }
});

Deno.test("a scenario has at most 100 checks, as many as its run's record keeps", () => {
  const checks = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ type: "transcript_contains", text: `line ${i}` }));
  const caller = { turns: [{ say: "hi" }] };
  assert.ok(parseScenario(JSON.stringify({ caller, checks: checks(100) }), WHERE).ok);
  assert.deepEqual(problemsOf({ caller, checks: checks(101) }), [
    `${FILE}: checks must NOT have more than 100 items`,
  ]);
});
