/**
 * The after-call parts of a profile: a valid `analysis` loads with its defaults; a `fields`
 * schema that does not compile, or that strict structured outputs would refuse, duplicate or
 * malformed labels and a bad webhook URL are refused, each problem naming the field.
 */

import assert from "node:assert/strict";
import { parseProfile, ProfileError } from "./agent_profile.ts";

const FILE = "assets/agents/clinic/agent.json";
const STRICT = {
  type: "object",
  additionalProperties: false,
  required: ["name"],
  properties: { name: { type: ["string", "null"] } },
};

function parse(agent: Record<string, unknown>) {
  return parseProfile({
    name: "clinic",
    agentJson: JSON.stringify(agent),
    instructions: "You are the clinic.",
    toolsJson: null,
  });
}

function problems(agent: Record<string, unknown>): string[] {
  try {
    parse(agent);
  } catch (err) {
    if (err instanceof ProfileError) return err.problems;
    throw err;
  }
  assert.fail("the profile was accepted");
}

Deno.test("an analysis, a webhook URL and recording load as written", () => {
  const profile = parse({
    analysis: {
      summary: "One sentence.",
      outcomes: [{ label: "booked", description: "Booked." }],
      fields: STRICT,
    },
    webhookUrl: "https://example.com/calls",
    record: true,
  });
  assert.deepEqual(profile.analysis, {
    summary: "One sentence.",
    outcomes: [{ label: "booked", description: "Booked." }],
    fields: STRICT,
  });
  assert.equal(profile.webhookUrl, "https://example.com/calls");
  assert.equal(profile.record, true);
});

Deno.test("without them: no analysis, the configured webhook, no recording", () => {
  const profile = parse({});
  assert.equal(profile.analysis, null);
  assert.equal(profile.webhookUrl, null);
  assert.equal(profile.record, false);
  assert.deepEqual(parse({ analysis: { summary: "Short." } }).analysis, {
    summary: "Short.",
    outcomes: [],
    fields: null,
  });
});

Deno.test("a fields schema that does not compile is refused, naming it", () => {
  const [problem, ...rest] = problems({
    analysis: { summary: "S", fields: { type: "object", properties: { a: { type: "strng" } } } },
  });
  assert.deepEqual(rest, []);
  assert.match(
    problem,
    /^assets\/agents\/clinic\/agent\.json: analysis\.fields is not a JSON Schema that compiles/,
  );
});

Deno.test("a schema strict structured outputs refuse is refused at load", () => {
  assert.deepEqual(
    problems({
      analysis: {
        summary: "S",
        fields: {
          type: "object",
          required: ["a"],
          properties: { a: { type: "string" }, b: { type: "integer" } },
        },
      },
    }),
    [
      `${FILE}: analysis.fields must set "additionalProperties": false`,
      `${FILE}: analysis.fields.required must list every property (missing b); an optional one ` +
      `is a union with "null"`,
    ],
  );
  assert.deepEqual(problems({ analysis: { summary: "S", fields: { type: "string" } } }), [
    `${FILE}: analysis.fields must be a JSON Schema of "type": "object"`,
  ]);
});

Deno.test("labels are short words, each once; the summary and webhook URL are checked", () => {
  const outcomes = [
    { label: "booked", description: "a" },
    { label: "booked", description: "b" },
  ];
  assert.deepEqual(problems({ analysis: { summary: "S", outcomes } }), [
    `${FILE}: analysis.outcomes[1].label "booked" is used twice`,
  ]);
  const bad = problems({
    analysis: { summary: "S", outcomes: [{ label: "Booked!", description: "" }] },
  });
  assert.equal(bad.length, 1);
  assert.match(bad[0], /analysis\.outcomes\[0\]\.label must be a short lower-case word/);
  assert.equal(problems({ analysis: { outcomes: [] } }).length, 1);
  assert.match(problems({ webhookUrl: "ftp://x" })[0], /webhookUrl must be an http\(s\) URL/);
  assert.match(problems({ record: "yes" })[0], /record /);
});
