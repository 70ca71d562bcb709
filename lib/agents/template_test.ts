/** Unit tests of template.ts's check: unbalanced sections are errors, unknown names warnings. */

import assert from "node:assert/strict";
import { CALL_VARIABLES, callTemplateValues, renderTemplate, templateCheck } from "./template.ts";

Deno.test("templateCheck: call variables and declared params are known; a balanced section is fine", () => {
  const text =
    "Caller {{from}} to {{ to }}.\n{{#customerName}}Hi {{customerName}}.{{/customerName}}";
  assert.deepEqual(templateCheck(text, [...CALL_VARIABLES, "customerName"]), {
    errors: [],
    warnings: [],
  });
});

Deno.test("templateCheck: an unknown name is a warning, once, with its line", () => {
  const check = templateCheck("Hello.\nFor {{form}} and {{form}}.", CALL_VARIABLES);
  assert.deepEqual(check.errors, []);
  assert.deepEqual(check.warnings, [
    "line 2: {{form}} is not a call variable (from, to, callSid, direction, agent) nor declared " +
    "in agent.json's outboundParams, so it renders as nothing",
  ]);
});

Deno.test("templateCheck: unclosed, unopened, crossed and nested sections are errors", () => {
  const known = ["a", "b"];
  assert.deepEqual(templateCheck("x\n{{#a}}never closed", known).errors, [
    "line 2: {{#a}} is never closed with {{/a}}",
  ]);
  assert.deepEqual(templateCheck("{{/a}}", known).errors, [
    "line 1: {{/a}} closes a section that was never opened",
  ]);
  assert.deepEqual(templateCheck("{{#a}}\n{{/b}}", known).errors, [
    "line 2: {{/b}} closes {{#a}} (opened on line 1)",
  ]);
  assert.deepEqual(templateCheck("{{#a}}{{#b}}x{{/b}}{{/a}}", known).errors, [
    "line 1: {{#b}} is inside {{#a}} (line 1): sections cannot be nested",
  ]);
});

Deno.test("templateCheck: a {{ that forms no tag is an error", () => {
  assert.deepEqual(templateCheck("Hi {{from}", CALL_VARIABLES).errors, [
    'line 1: "{{" is not a {{name}}, {{#name}} or {{/name}} tag',
  ]);
});

Deno.test("what templateCheck accepts renders without template syntax", () => {
  const text = "{{#name}}Dear {{name}}, {{/name}}you called {{to}}.";
  assert.deepEqual(templateCheck(text, [...CALL_VARIABLES, "name"]).errors, []);
  assert.equal(renderTemplate(text, { to: "+1555" }), "you called +1555.");
  assert.equal(renderTemplate(text, { to: "+1555", name: "Ann" }), "Dear Ann, you called +1555.");
});

Deno.test("renderTemplate: only the values' own names, never Object.prototype's", () => {
  assert.equal(renderTemplate("[{{constructor}}][{{toString}}]", {}), "[][]");
  assert.equal(renderTemplate("{{#constructor}}x{{/constructor}}y", {}), "y");
});

Deno.test("callTemplateValues: params as text, null ones left out, the call's fields win", () => {
  const call = {
    from: "+15550100123",
    to: "+15550100999",
    callSid: "CA1",
    direction: "outbound-api",
    agent: "clinic",
  };
  assert.deepEqual(
    callTemplateValues({ ...call, params: {} } as typeof call, {
      name: "Ada",
      visits: 3,
      vip: true,
      tags: ["a"],
      gone: null,
      unset: undefined,
      from: "+1999",
    }),
    {
      name: "Ada",
      visits: "3",
      vip: "true",
      tags: '["a"]',
      ...call,
    },
  );
  assert.deepEqual(callTemplateValues(call), call);
});
