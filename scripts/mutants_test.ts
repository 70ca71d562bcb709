/**
 * The mutant generator: which changes it makes to a small module, exactly, and what it leaves
 * alone (types, imports, comments, property names, lines marked equivalent).
 */

import assert from "node:assert/strict";
import { applyMutant, mutantsOf } from "./mutants.ts";

/** `line:operator original → replacement` for each mutant of `source`. */
function changes(source: string): string[] {
  return mutantsOf(source).map((m) =>
    `${m.line}:${m.operator} ${m.original.replace(/\s+/g, " ")} → ${m.replacement}`
  );
}

Deno.test("each operator's changes, in source order", () => {
  const source = [
    'import { x } from "./x.ts";',
    "type T = { a: number };",
    "export function f(a: number, b: boolean): number {",
    "  // a comment with a < b and true",
    "  if (a < 2 && !b) return a + 1;",
    '  return [a].some((v) => v === 3) ? a++ : { "key": "v" }.key.length;',
    "}",
  ].join("\n");
  assert.deepEqual(changes(source), [
    "3:BlockStatement { // a comment with a < b and true if (a < 2 && !b) return a + 1; " +
    'return [a].some((v) => v === 3) ? a++ : { "key": "v" }.key.length; } → {}',
    "5:ConditionalExpression a < 2 && !b → true",
    "5:ConditionalExpression a < 2 && !b → false",
    "5:EqualityOperator < → <=",
    "5:EqualityOperator < → >=",
    "5:NumberLiteral 2 → 3",
    "5:LogicalOperator && → ||",
    "5:UnaryOperator !b → b",
    "5:ArithmeticOperator + → -",
    "5:NumberLiteral 1 → 2",
    "6:ArrayDeclaration [a] → []",
    "6:ConditionalExpression [a].some((v) => v === 3) → true",
    "6:ConditionalExpression [a].some((v) => v === 3) → false",
    "6:MethodExpression some → every",
    "6:EqualityOperator === → !==",
    "6:NumberLiteral 3 → 4",
    "6:UpdateOperator a++ → a--",
    '6:StringLiteral "v" → ""',
  ]);
});

Deno.test("a line after `// mutation: equivalent` is left alone; string + is not subtraction", () => {
  const source = [
    "export const a = (n: number) => {",
    "  // mutation: equivalent the cap is never reached",
    "  const capped = Math.min(n, 10);",
    '  return "n=" + capped;',
    "};",
  ].join("\n");
  assert.deepEqual(changes(source), [
    "1:BlockStatement { // mutation: equivalent the cap is never reached const capped = " +
    'Math.min(n, 10); return "n=" + capped; } → {}',
    '4:StringLiteral "n=" → ""',
  ]);
});

Deno.test("applyMutant replaces exactly the mutant's span", () => {
  const source = "export const ok = (a: number) => a >= 1;";
  const [first] = mutantsOf(source).filter((m) => m.operator === "EqualityOperator");
  assert.equal(applyMutant(source, first), "export const ok = (a: number) => a > 1;");
});
