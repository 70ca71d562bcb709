/**
 * The analysis request's pure parts: the strict answer schema built from a profile's analysis,
 * what strict structured outputs refuse in a fields schema, and the transcript as the model
 * reads it.
 */

import assert from "node:assert/strict";
import { analysisSchema, strictSchemaProblems, transcriptText } from "./call_analysis.ts";

Deno.test("the answer schema is strict: summary, a label of the profile's, the fields", () => {
  const fields = {
    type: "object",
    additionalProperties: false,
    required: ["day"],
    properties: { day: { type: ["string", "null"] } },
  };
  const schema = analysisSchema({
    summary: "One sentence.",
    outcomes: [{ label: "booked", description: "x" }, { label: "lost", description: "y" }],
    fields,
  });
  assert.deepEqual(schema, {
    type: "object",
    additionalProperties: false,
    required: ["summary", "outcome", "fields"],
    properties: {
      summary: { type: "string", description: "One sentence." },
      outcome: { type: "string", enum: ["booked", "lost"], description: "How the call ended." },
      fields,
    },
  });
  assert.deepEqual(strictSchemaProblems(schema, "x"), [], "it passes its own check");
  const bare = analysisSchema({ summary: "S", outcomes: [], fields: null });
  const props = bare.properties as Record<string, unknown>;
  assert.deepEqual(props.outcome, { type: "null", description: "How the call ended." });
  assert.deepEqual(props.fields, { type: "null" });
});

Deno.test("strict problems: nested objects, arrays and unions are checked too", () => {
  const schema = {
    type: "object",
    additionalProperties: false,
    required: ["items", "when"],
    properties: {
      items: {
        type: "array",
        items: { type: "object", properties: { sku: { type: "string" } } },
      },
      when: { anyOf: [{ type: "date" }, { type: "null" }] },
    },
  };
  assert.deepEqual(strictSchemaProblems(schema, "f"), [
    `f.properties.items.items must set "additionalProperties": false`,
    `f.properties.items.items.required must list every property (missing sku); an optional ` +
    `one is a union with "null"`,
    `f.properties.when.anyOf[0].type "date" is not a type structured outputs take`,
  ]);
  assert.deepEqual(strictSchemaProblems({ properties: {} }, "f"), [
    `f must be a JSON Schema of "type": "object"`,
  ]);
  assert.deepEqual(
    strictSchemaProblems({
      type: "object",
      additionalProperties: false,
      required: ["a"],
      properties: { a: {} },
    }, "f"),
    [`f.properties.a must say its "type"`],
  );
});

Deno.test("the transcript reads Caller:/Agent: lines; a long one keeps its end", () => {
  const turns = [
    { seq: 1, role: "agent" as const, text: "Hello", at: 0 },
    { seq: 2, role: "caller" as const, text: "Hi", at: 1 },
  ];
  assert.equal(transcriptText(turns), "Agent: Hello\nCaller: Hi");
  const long = [{ seq: 1, role: "caller" as const, text: `${"a".repeat(70_000)}END`, at: 0 }];
  const text = transcriptText(long);
  assert.equal(text.length, 60_000);
  assert.ok(text.endsWith("aEND"));
});
