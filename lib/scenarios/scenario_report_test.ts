/**
 * Reporting scenario runs: the progress line says the result and each failed check or the
 * error, the summary counts them, and the JUnit XML has a failure per failed scenario (naming its
 * checks), an error per scenario that could not be judged, and the values escaped.
 */

import assert from "node:assert/strict";
import { XMLParser } from "fast-xml-parser";
import { anyFailed, junitXml, progressLine, summaryTable } from "./scenario_report.ts";
import type { ScenarioResult } from "./scenario_runs.ts";

function result(fields: Partial<ScenarioResult>): ScenarioResult {
  return {
    agent: "default",
    scenario: "s",
    description: "",
    status: "pass",
    checks: [],
    error: null,
    callSid: null,
    version: "saved",
    startedAt: 0,
    durationMs: 1234,
    ...fields,
  };
}

const PASS = result({
  scenario: "hands_off",
  callSid: "CA1",
  checks: [{ name: "ok", type: "ended", status: "pass", detail: "the call ended x" }],
});
const FAIL = result({
  agent: "appointments",
  scenario: "books",
  status: "fail",
  checks: [
    { name: "a & <b>", type: "judged", status: "fail", detail: 'said "no"' },
    { name: "c", type: "ended", status: "pass", detail: "fine" },
  ],
});
const ERROR = result({ scenario: "broken", status: "error", error: "the judge model failed: 500" });

Deno.test("a progress line per scenario, with what failed", () => {
  assert.equal(progressLine(PASS), "✓ default/hands_off  pass  1/1 checks  1.2 s");
  assert.equal(
    progressLine(FAIL),
    '✗ appointments/books  fail  1/2 checks  1.2 s\n    failed: a & <b> — said "no"',
  );
  assert.equal(
    progressLine(ERROR),
    "! default/broken  error  0/0 checks  1.2 s\n    error: the judge model failed: 500",
  );
});

Deno.test("the summary table and the exit verdict", () => {
  assert.equal(
    summaryTable([PASS, FAIL, ERROR]),
    [
      "agent         scenario   result  checks  seconds",
      "------------  ---------  ------  ------  -------",
      "default       hands_off  pass    1/1     1.2",
      "appointments  books      fail    1/2     1.2",
      "default       broken     error   0/0     1.2",
      "",
      "3 scenarios: 1 passed, 1 failed, 1 errors",
    ].join("\n"),
  );
  assert.equal(anyFailed([PASS]), false);
  assert.equal(anyFailed([PASS, ERROR]), true);
  assert.equal(anyFailed([FAIL]), true);
});

Deno.test("JUnit XML: suites per agent, failures and errors, escaped", () => {
  const xml = junitXml([PASS, FAIL, ERROR], "https://voice.example.com");
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>/);
  assert.match(xml, /a &amp; &lt;b&gt;/);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
  assert.deepEqual(
    [doc.testsuites.tests, doc.testsuites.failures, doc.testsuites.errors],
    ["3", "1", "1"],
  );
  const [first, second] = doc.testsuites.testsuite;
  assert.equal(first.name, "default");
  const [pass, broken] = first.testcase;
  assert.equal(pass.failure, undefined);
  assert.equal(
    pass["system-out"],
    "pass: ok — the call ended x\ntranscript: https://voice.example.com/calls/CA1",
  );
  assert.deepEqual(broken.error, { message: "the judge model failed: 500", type: "error" });
  assert.equal(second.name, "appointments");
  assert.equal(second.testcase.failure.message, "1 of 2 checks failed: a & <b>");
  assert.equal(second.testcase.failure["#text"], 'a & <b> — said "no"');
  assert.equal(second.testcase.time, "1.2");
});

/** What XML 1.0 allows in a document (its `Char` production): no other control character. */
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

Deno.test("junitXml: control characters in what the call said still give well-formed XML", () => {
  // A model's words, a tool's output or a coloured error message may carry any of them.
  const xml = junitXml([
    result({
      scenario: "odd\u0007",
      description: "bell\u0007 and \u001b[31mred\u001b[0m",
      status: "fail",
      checks: [{ name: "nul\u0000", type: "judged", status: "fail", detail: "tab\tvt\u000bff\f" }],
    }),
    result({ scenario: "errs", status: "error", error: "esc \u001b[1mbold\u001b[0m" }),
  ]);
  assert.doesNotMatch(xml, NOT_XML_CHAR);
  const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
  const [failed, errored] = parsed.testsuites.testsuite.testcase;
  // Each character XML cannot carry is shown as U+FFFD; the rest is kept.
  assert.equal(failed.name, "odd\uFFFD");
  assert.equal(failed.failure["#text"], "nul\uFFFD — tab\tvt\uFFFDff\uFFFD");
  assert.equal(errored.error.message, "esc \uFFFD[1mbold\uFFFD[0m");
});
