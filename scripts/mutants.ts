/**
 * The mutants of one TypeScript source: small, wrong changes a test suite should notice, found on
 * the syntax tree (so comments, strings in types and imports are never touched). Pure: source in,
 * mutants out, each with its place and what it changed, for `deno task mutate`.
 *
 * The operators are Stryker's usual set: equality and relational operators, arithmetic, logical
 * operators, `!` and unary minus, `++`/`--`, compound assignments, boolean literals, conditions
 * forced true and false, emptied blocks, emptied strings and arrays, swapped methods
 * (`some`/`every`, `startsWith`/`endsWith`, `min`/`max`) — plus numbers moved by one, since a
 * limit off by one is the bug a timer test most often misses.
 *
 * A line after `// mutation: equivalent <why>` is skipped: for a mutant no test can tell apart
 * because it behaves the same, with the reason written next to it.
 *
 * @module
 */

import ts from "typescript";

/** One mutant: the source with `original` at `start..end` replaced by `replacement`. */
export interface Mutant {
  /** 1-based line and column of the change. */
  line: number;
  column: number;
  /** The operator's name, e.g. `EqualityOperator`. */
  operator: string;
  original: string;
  replacement: string;
  start: number;
  end: number;
}

const EQUALITY: Record<string, string[]> = {
  "<": ["<=", ">="],
  "<=": ["<", ">"],
  ">": [">=", "<="],
  ">=": [">", "<"],
  "===": ["!=="],
  "!==": ["==="],
  "==": ["!="],
  "!=": ["=="],
};
const ARITHMETIC: Record<string, string> = { "+": "-", "-": "+", "*": "/", "/": "*", "%": "*" };
const LOGICAL: Record<string, string> = { "&&": "||", "||": "&&", "??": "&&" };
const ASSIGNMENT: Record<string, string> = {
  "+=": "-=",
  "-=": "+=",
  "*=": "/=",
  "/=": "*=",
  "&&=": "||=",
  "||=": "&&=",
  "??=": "&&=",
};
const METHODS: Record<string, string> = {
  some: "every",
  every: "some",
  startsWith: "endsWith",
  endsWith: "startsWith",
  min: "max",
  max: "min",
  trimStart: "trimEnd",
  trimEnd: "trimStart",
};
const EQUIVALENT = /\/\/\s*mutation:\s*equivalent\b/;

/** Every mutant of `source` (a .ts file's text), in source order. */
export function mutantsOf(source: string, fileName = "module.ts"): Mutant[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const lines = source.split("\n");
  const skipped = new Set<number>();
  lines.forEach((text, i) => {
    if (EQUIVALENT.test(text)) skipped.add(i + 1);
  });
  const out: Mutant[] = [];
  const add = (operator: string, start: number, end: number, replacement: string) => {
    const { line, character } = file.getLineAndCharacterOfPosition(start);
    if (skipped.has(line)) return; // the comment is on the line before (0-based `line`)
    const original = source.slice(start, end);
    if (original === replacement) return;
    out.push({
      line: line + 1,
      column: character + 1,
      operator,
      original,
      replacement,
      start,
      end,
    });
  };
  const visit = (node: ts.Node): void => {
    if (isTypeOnly(node)) return;
    mutate(node, add);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}

/** Applies `mutant` to `source`. */
export function applyMutant(source: string, mutant: Mutant): string {
  return source.slice(0, mutant.start) + mutant.replacement + source.slice(mutant.end);
}

type Add = (operator: string, start: number, end: number, replacement: string) => void;

function mutate(node: ts.Node, add: Add): void {
  if (ts.isBinaryExpression(node)) return binary(node, add);
  if (ts.isPrefixUnaryExpression(node)) {
    const operand = node.operand.getText();
    if (node.operator === ts.SyntaxKind.ExclamationToken) {
      add("UnaryOperator", node.getStart(), node.end, operand);
    } else if (node.operator === ts.SyntaxKind.MinusToken) {
      add("UnaryOperator", node.getStart(), node.end, operand);
    } else if (node.operator === ts.SyntaxKind.PlusPlusToken) {
      add("UpdateOperator", node.getStart(), node.end, `--${operand}`);
    } else if (node.operator === ts.SyntaxKind.MinusMinusToken) {
      add("UpdateOperator", node.getStart(), node.end, `++${operand}`);
    }
    return;
  }
  if (ts.isPostfixUnaryExpression(node)) {
    const operand = node.operand.getText();
    const swapped = node.operator === ts.SyntaxKind.PlusPlusToken ? "--" : "++";
    return add("UpdateOperator", node.getStart(), node.end, `${operand}${swapped}`);
  }
  if (node.kind === ts.SyntaxKind.TrueKeyword) {
    return add("BooleanLiteral", node.getStart(), node.end, "false");
  }
  if (node.kind === ts.SyntaxKind.FalseKeyword) {
    return add("BooleanLiteral", node.getStart(), node.end, "true");
  }
  if (ts.isNumericLiteral(node)) {
    const value = Number(node.text.replaceAll("_", ""));
    if (Number.isFinite(value)) add("NumberLiteral", node.getStart(), node.end, String(value + 1));
    return;
  }
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
    if (node.text !== "" && !isModuleSpecifier(node) && !isPropertyName(node)) {
      add("StringLiteral", node.getStart(), node.end, '""');
    }
    return;
  }
  if (ts.isTemplateExpression(node)) return add("StringLiteral", node.getStart(), node.end, '""');
  if (ts.isArrayLiteralExpression(node) && node.elements.length > 0) {
    return add("ArrayDeclaration", node.getStart(), node.end, "[]");
  }
  if (ts.isIfStatement(node) || ts.isWhileStatement(node) || ts.isDoStatement(node)) {
    return conditions(node.expression, add);
  }
  if (ts.isForStatement(node) && node.condition) return conditions(node.condition, add);
  if (ts.isConditionalExpression(node)) return conditions(node.condition, add);
  if (ts.isBlock(node) && node.statements.length > 0 && !isClassStaticBlock(node)) {
    return add("BlockStatement", node.getStart(), node.end, "{}");
  }
  if (ts.isPropertyAccessExpression(node) && ts.isCallExpression(node.parent)) {
    const swapped = METHODS[node.name.text];
    if (swapped && node.parent.expression === node) {
      add("MethodExpression", node.name.getStart(), node.name.end, swapped);
    }
  }
}

function binary(node: ts.BinaryExpression, add: Add): void {
  const token = node.operatorToken;
  const op = token.getText();
  const at = token.getStart();
  for (const replacement of EQUALITY[op] ?? []) {
    add("EqualityOperator", at, token.end, replacement);
  }
  if (ARITHMETIC[op] && !(op === "+" && (isStringy(node.left) || isStringy(node.right)))) {
    add("ArithmeticOperator", at, token.end, ARITHMETIC[op]);
  }
  if (LOGICAL[op]) add("LogicalOperator", at, token.end, LOGICAL[op]);
  if (ASSIGNMENT[op]) add("AssignmentOperator", at, token.end, ASSIGNMENT[op]);
}

/** A condition forced each way. */
function conditions(expression: ts.Expression, add: Add): void {
  if (expression.kind === ts.SyntaxKind.TrueKeyword) return;
  if (expression.kind === ts.SyntaxKind.FalseKeyword) return;
  add("ConditionalExpression", expression.getStart(), expression.end, "true");
  add("ConditionalExpression", expression.getStart(), expression.end, "false");
}

/** Strings concatenated with `+`: swapping it for `-` only makes NaN, which is not interesting. */
function isStringy(node: ts.Expression): boolean {
  return ts.isStringLiteral(node) || ts.isTemplateExpression(node) ||
    ts.isNoSubstitutionTemplateLiteral(node);
}

function isModuleSpecifier(node: ts.Node): boolean {
  const parent = node.parent;
  return ts.isImportDeclaration(parent) || ts.isExportDeclaration(parent) ||
    ts.isExternalModuleReference(parent) ||
    (ts.isCallExpression(parent) && parent.expression.kind === ts.SyntaxKind.ImportKeyword);
}

/** `{ "name": … }` or `obj["name"]`-free keys: renaming a key is not a behaviour of the code. */
function isPropertyName(node: ts.Node): boolean {
  return ts.isPropertyAssignment(node.parent) && node.parent.name === node;
}

function isClassStaticBlock(node: ts.Node): boolean {
  return ts.isClassStaticBlockDeclaration(node.parent);
}

/** Nodes that do not exist at run time: types, interfaces, declarations, `as` casts' types. */
function isTypeOnly(node: ts.Node): boolean {
  return ts.isTypeNode(node) || ts.isInterfaceDeclaration(node) ||
    ts.isTypeAliasDeclaration(node) || ts.isImportDeclaration(node) ||
    ts.isExportDeclaration(node) || ts.isEnumDeclaration(node) ||
    (ts.isVariableStatement(node) &&
      (node.modifiers?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword) ?? false));
}
