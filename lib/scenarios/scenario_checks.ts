/**
 * The deterministic checks of a scenario against what its call showed: tool calls (and their
 * arguments, by JSON Schema or pattern), the end reason, what was said, and each turn's latency.
 * Pure: the same call always gets the same verdicts. Judged checks go to the judge model
 * (`scenario_models.ts`); the call is worded for it by {@link callForJudge}.
 *
 * @module
 */

import { Ajv } from "ajv";
import type { ScenarioCheck } from "./scenario.ts";

/** What a scenario's call showed, as its record and feed tell it. */
export interface CallObservation {
  transcript: { role: "caller" | "agent"; text: string }[];
  tools: { name: string; arguments: string; ok: boolean; output: string }[];
  /** Each agent turn's latency (caller's prompt → first token), ms; null: no words. */
  latencies: (number | null)[];
  /** The end reason (`agent-ended`, `live-agent-handoff`, `caller-hangup`, …). */
  outcome: string;
}

/** One check's verdict. */
export interface CheckResult {
  name: string;
  type: ScenarioCheck["type"];
  status: "pass" | "fail";
  /** Why it failed, or what was seen when it passed. */
  detail: string;
}

/** The verdict of a deterministic check (a judged one is the judge's: see the runner). */
export function evaluateCheck(
  check: Exclude<ScenarioCheck, { type: "judged" }>,
  call: CallObservation,
): CheckResult {
  const verdict = (pass: boolean, detail: string): CheckResult => ({
    name: check.name,
    type: check.type,
    status: pass ? "pass" : "fail",
    detail,
  });
  switch (check.type) {
    case "tool_called": {
      const calls = call.tools.filter((t) => t.name === check.tool);
      if (calls.length === 0) return verdict(false, `${check.tool} was never called${seen(call)}`);
      const matching = calls.filter((t) => argumentsMatch(check, t.arguments));
      if (matching.length === 0) {
        const args = calls.map((t) => t.arguments).join("; ");
        return verdict(false, `no call of ${check.tool} had matching arguments (got ${args})`);
      }
      return verdict(true, `called with ${matching[0].arguments}`);
    }
    case "tool_not_called": {
      const calls = call.tools.filter((t) => t.name === check.tool);
      return calls.length
        ? verdict(false, `${check.tool} was called with ${calls[0].arguments}`)
        : verdict(true, `${check.tool} was not called`);
    }
    case "ended":
      return verdict(call.outcome === check.outcome, `the call ended ${call.outcome}`);
    case "transcript_contains":
    case "transcript_excludes": {
      const needle = check.text.toLowerCase();
      const line = call.transcript.find((l) =>
        (check.role === "any" || l.role === check.role) && l.text.toLowerCase().includes(needle)
      );
      const found = line ? `${line.role} said "${line.text}"` : `nobody said "${check.text}"`;
      return verdict((line !== undefined) === (check.type === "transcript_contains"), found);
    }
    case "latency_under": {
      const measured = call.latencies.filter((ms): ms is number => ms !== null);
      if (measured.length === 0) return verdict(false, "no agent turn was measured");
      const worst = Math.max(...measured);
      return verdict(
        worst < check.ms,
        `the slowest of ${measured.length} turns took ${Math.round(worst)} ms`,
      );
    }
  }
}

function seen(call: CallObservation): string {
  const names = [...new Set(call.tools.map((t) => t.name))];
  return names.length ? ` (called: ${names.join(", ")})` : " (no tool was called)";
}

/** Whether one call's arguments (JSON text) match the check's schema and pattern. */
function argumentsMatch(
  check: Extract<ScenarioCheck, { type: "tool_called" }>,
  text: string,
): boolean {
  if (check.argumentsMatch !== null && !new RegExp(check.argumentsMatch).test(text)) return false;
  if (check.arguments === null) return true;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  // A fresh compile each time: scenario schemas are small, and nothing is cached between runs.
  const ajv = new Ajv({ allErrors: false, strict: false });
  return ajv.validate(check.arguments, value);
}

/** The call as the judge reads it: the transcript, the tool calls and how it ended. */
export function callForJudge(call: CallObservation): string {
  const lines = call.transcript.map((l) =>
    `${l.role === "caller" ? "Caller" : "Agent"}: ${l.text}`
  );
  const tools = call.tools.map((t) =>
    `- ${t.name}(${t.arguments}) → ${t.ok ? "" : "failed: "}${t.output.slice(0, 500)}`
  );
  return [
    "Transcript:",
    ...lines,
    "",
    "Tool calls:",
    ...(tools.length ? tools : ["(none)"]),
    "",
    `How the call ended: ${call.outcome}`,
  ].join("\n");
}
