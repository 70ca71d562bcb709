/**
 * The deterministic checks against a call's observation: each passes on the call that meets it
 * and fails, saying what the call did instead, on one that does not.
 */

import assert from "node:assert/strict";
import { callForJudge, type CallObservation, evaluateCheck } from "./scenario_checks.ts";

const CALL: CallObservation = {
  transcript: [
    { role: "agent", text: "Hello, Bright Smile Dental." },
    { role: "caller", text: "Book me for Friday." },
    { role: "agent", text: "Booked: Friday at nine." },
  ],
  tools: [
    { name: "find_slots", arguments: '{"date":"2030-02-01"}', ok: true, output: "[]" },
    { name: "book_appointment", arguments: '{"slot":"2030-02-01T09:00"}', ok: false, output: "x" },
  ],
  latencies: [420, null, 910],
  outcome: "agent-ended",
};

function status(check: Parameters<typeof evaluateCheck>[0], call = CALL): string {
  const result = evaluateCheck(check, call);
  return `${result.status}: ${result.detail}`;
}

Deno.test("tool_called matches a call by name, by arguments schema and by pattern", () => {
  const called = (extra: { arguments?: Record<string, unknown>; argumentsMatch?: string }) =>
    status({
      type: "tool_called",
      tool: "find_slots",
      name: "n",
      arguments: extra.arguments ?? null,
      argumentsMatch: extra.argumentsMatch ?? null,
    });
  assert.equal(called({}), 'pass: called with {"date":"2030-02-01"}');
  assert.equal(
    called({ arguments: { properties: { date: { const: "2030-02-01" } }, required: ["date"] } }),
    'pass: called with {"date":"2030-02-01"}',
  );
  assert.equal(
    called({ arguments: { properties: { date: { const: "2030-01-31" } } } }),
    'fail: no call of find_slots had matching arguments (got {"date":"2030-02-01"})',
  );
  assert.equal(called({ argumentsMatch: "02-01" }), 'pass: called with {"date":"2030-02-01"}');
  assert.match(called({ argumentsMatch: "^x" }), /^fail: no call of find_slots/);
  assert.equal(
    status({
      type: "tool_called",
      tool: "end_call",
      name: "n",
      arguments: null,
      argumentsMatch: null,
    }),
    "fail: end_call was never called (called: find_slots, book_appointment)",
  );
  assert.equal(
    status(
      { type: "tool_called", tool: "end_call", name: "n", arguments: null, argumentsMatch: null },
      { ...CALL, tools: [] },
    ),
    "fail: end_call was never called (no tool was called)",
  );
});

Deno.test("tool_not_called, ended, transcript and latency checks", () => {
  assert.equal(
    status({ type: "tool_not_called", tool: "cancel_appointment", name: "n" }),
    "pass: cancel_appointment was not called",
  );
  assert.equal(
    status({ type: "tool_not_called", tool: "find_slots", name: "n" }),
    'fail: find_slots was called with {"date":"2030-02-01"}',
  );
  assert.equal(
    status({ type: "ended", outcome: "agent-ended", name: "n" }),
    "pass: the call ended agent-ended",
  );
  assert.equal(
    status({ type: "ended", outcome: "caller-hangup", name: "n" }),
    "fail: the call ended agent-ended",
  );
  const says = (
    type: "transcript_contains" | "transcript_excludes",
    text: string,
    role = "agent",
  ) => status({ type, text, role: role as "agent", name: "n" });
  assert.equal(says("transcript_contains", "BOOKED"), 'pass: agent said "Booked: Friday at nine."');
  assert.equal(
    says("transcript_contains", "friday", "caller"),
    'pass: caller said "Book me for Friday."',
  );
  assert.equal(says("transcript_contains", "book me"), 'fail: nobody said "book me"');
  assert.equal(
    says("transcript_contains", "book me", "any"),
    'pass: caller said "Book me for Friday."',
  );
  assert.equal(says("transcript_excludes", "sorry"), 'pass: nobody said "sorry"');
  assert.equal(says("transcript_excludes", "nine"), 'fail: agent said "Booked: Friday at nine."');
  assert.equal(
    status({ type: "latency_under", ms: 911, name: "n" }),
    "pass: the slowest of 2 turns took 910 ms",
  );
  assert.equal(
    status({ type: "latency_under", ms: 910, name: "n" }),
    "fail: the slowest of 2 turns took 910 ms",
  );
  assert.equal(
    status({ type: "latency_under", ms: 910, name: "n" }, { ...CALL, latencies: [null] }),
    "fail: no agent turn was measured",
  );
});

Deno.test("the judge reads the transcript, the tool calls and the end", () => {
  assert.equal(
    callForJudge(CALL),
    [
      "Transcript:",
      "Agent: Hello, Bright Smile Dental.",
      "Caller: Book me for Friday.",
      "Agent: Booked: Friday at nine.",
      "",
      "Tool calls:",
      '- find_slots({"date":"2030-02-01"}) → []',
      '- book_appointment({"slot":"2030-02-01T09:00"}) → failed: x',
      "",
      "How the call ended: agent-ended",
    ].join("\n"),
  );
});

Deno.test("the judge reads a call without tools as such, and a long tool output cut at 500", () => {
  const text = callForJudge({ ...CALL, tools: [] });
  assert.match(text, /Tool calls:\n\(none\)\n\nHow the call ended/);
  const long = callForJudge({
    ...CALL,
    tools: [{ name: "t", arguments: "{}", ok: true, output: "x".repeat(600) }],
  });
  assert.match(long, new RegExp(`- t\\(\\{\\}\\) → x{500}\\n`));
});

Deno.test("tool_called: every non-matching call is named; arguments that are not JSON never match", () => {
  const twice: CallObservation = {
    ...CALL,
    tools: [
      { name: "find_slots", arguments: '{"date":"a"}', ok: true, output: "[]" },
      { name: "find_slots", arguments: "not json", ok: true, output: "[]" },
    ],
  };
  const check = {
    type: "tool_called" as const,
    tool: "find_slots",
    name: "n",
    arguments: { type: "object" },
    argumentsMatch: null,
  };
  assert.equal(
    status(check, { ...twice, tools: twice.tools.slice(1) }),
    "fail: no call of find_slots had matching arguments (got not json)",
  );
  assert.equal(status(check, twice), 'pass: called with {"date":"a"}');
  assert.equal(
    status({ ...check, arguments: { required: ["slot"] } }, twice),
    'fail: no call of find_slots had matching arguments (got {"date":"a"}; not json)',
  );
});
