/**
 * How scenario runs are reported: one progress line per scenario as it finishes, a summary table
 * at the end, and JUnit XML for CI (a test suite per agent, a test case per scenario; a failed
 * check is a `<failure>`, a run that could not be judged an `<error>`), built with
 * fast-xml-parser's builder so every value is escaped (and characters XML cannot carry are
 * replaced). Pure: text in, text out.
 *
 * @module
 */

import { XMLBuilder } from "fast-xml-parser";
import type { ScenarioResult } from "./scenario_runs.ts";

const MARK = { pass: "✓", fail: "✗", error: "!" } as const;
/** What XML 1.0 cannot carry even escaped (control characters, lone surrogates, U+FFFE/F). */
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** `✓ default/hands_off  pass  3/3 checks  1.2 s`, and each failed check or the error below. */
export function progressLine(result: ScenarioResult): string {
  const passed = result.checks.filter((c) => c.status === "pass").length;
  const head = `${MARK[result.status]} ${result.agent}/${result.scenario}  ${result.status}  ` +
    `${passed}/${result.checks.length} checks  ${seconds(result.durationMs)} s`;
  const lines = [head];
  if (result.error) lines.push(`    error: ${result.error}`);
  for (const check of result.checks) {
    if (check.status === "fail") lines.push(`    failed: ${check.name} — ${check.detail}`);
  }
  return lines.join("\n");
}

/** The summary: one row per scenario, then the totals. */
export function summaryTable(results: readonly ScenarioResult[]): string {
  const rows = [
    ["agent", "scenario", "result", "checks", "seconds"],
    ...results.map((r) => [
      r.agent,
      r.scenario,
      r.status,
      `${r.checks.filter((c) => c.status === "pass").length}/${r.checks.length}`,
      seconds(r.durationMs),
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
  const count = (status: string) => results.filter((r) => r.status === status).length;
  return [
    line(rows[0]),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.slice(1).map(line),
    "",
    `${results.length} scenarios: ${count("pass")} passed, ${count("fail")} failed, ` +
    `${count("error")} errors`,
  ].join("\n");
}

/** Whether the run as a whole failed: any scenario failed or could not be judged. */
export function anyFailed(results: readonly ScenarioResult[]): boolean {
  return results.some((r) => r.status !== "pass");
}

/** JUnit XML of the run (`baseUrl` makes each transcript's link absolute). */
export function junitXml(results: readonly ScenarioResult[], baseUrl = ""): string {
  const agents = [...new Set(results.map((r) => r.agent))];
  const totals = (list: readonly ScenarioResult[]) => ({
    "@_tests": list.length,
    "@_failures": list.filter((r) => r.status === "fail").length,
    "@_errors": list.filter((r) => r.status === "error").length,
    "@_time": seconds(list.reduce((sum, r) => sum + r.durationMs, 0)),
  });
  const doc = {
    "?xml": { "@_version": "1.0", "@_encoding": "UTF-8" },
    testsuites: {
      "@_name": "scenarios",
      ...totals(results),
      testsuite: agents.map((agent) => {
        const list = results.filter((r) => r.agent === agent);
        return {
          "@_name": agent,
          ...totals(list),
          testcase: list.map((r) => testCase(r, baseUrl)),
        };
      }),
    },
  };
  const builder = new XMLBuilder({
    ignoreAttributes: false,
    attributeNamePrefix: "@_",
    format: true,
    suppressEmptyNode: true,
  });
  // The builder escapes markup but passes control characters through (a model's words, a
  // tool's output, a coloured error): each becomes U+FFFD, or the file is not XML.
  return builder.build(doc).replace(NOT_XML_CHAR, "\uFFFD");
}

function testCase(result: ScenarioResult, baseUrl: string): Record<string, unknown> {
  const failed = result.checks.filter((c) => c.status === "fail");
  const out = [
    result.description,
    ...result.checks.map((c) => `${c.status}: ${c.name} — ${c.detail}`),
    result.callSid ? `transcript: ${baseUrl}/calls/${result.callSid}` : "",
  ].filter(Boolean).join("\n");
  const testcase: Record<string, unknown> = {
    "@_classname": result.agent,
    "@_name": result.scenario,
    "@_time": seconds(result.durationMs),
  };
  if (result.status === "error") {
    testcase.error = { "@_message": result.error ?? "error", "@_type": "error" };
  } else if (failed.length) {
    testcase.failure = {
      "@_message": `${failed.length} of ${result.checks.length} checks failed: ` +
        failed.map((c) => c.name).join("; "),
      "@_type": "check",
      "#text": failed.map((c) => `${c.name} — ${c.detail}`).join("\n"),
    };
  }
  testcase["system-out"] = out;
  return testcase;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
