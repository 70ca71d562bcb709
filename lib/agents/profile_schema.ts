/**
 * The published JSON Schemas of agent profiles, `assets/agents/agent.schema.json` and
 * `assets/agents/tools.schema.json` (and of their scenarios, `assets/agents/scenario.schema.json`),
 * as the service validates with them: the same files editors use. Every schema error becomes a problem in the project's wording,
 * `<file>: <field> <what is wrong>` — one per field, all of them at once.
 *
 * A subschema may word its own problems with VS Code's `errorMessage` (any problem of that value)
 * and `patternErrorMessage` (a pattern mismatch), so the editor and the service say the same.
 *
 * @module
 */

import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import agentSchema from "../../assets/agents/agent.schema.json" with { type: "json" };
import toolsSchema from "../../assets/agents/tools.schema.json" with { type: "json" };
import scenarioSchema from "../../assets/agents/scenario.schema.json" with { type: "json" };

type Schema = Record<string, unknown>;

/** A worded problem, before the file name is put in front. */
interface Worded {
  field: string;
  text: string;
  /** Lower wins when one field has several problems (a wrong type says the most). */
  rank: number;
}

/** The validators, compiled once; nothing else is kept. */
const VALIDATORS = compileSchemas();

function compileSchemas(): Record<"agent" | "tools" | "scenario", ValidateFunction> {
  // verbose: errors carry the failing value and the subschema it failed.
  const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true });
  ajv.addKeyword("errorMessage");
  ajv.addKeyword("patternErrorMessage");
  return {
    agent: ajv.compile(agentSchema),
    tools: ajv.compile(toolsSchema),
    scenario: ajv.compile(scenarioSchema),
  };
}

/** Problems of a parsed agent.json against agent.schema.json, each starting with `file`. */
export function agentJsonProblems(value: unknown, file: string): string[] {
  return schemaProblems(VALIDATORS.agent, value, file);
}

/** Problems of a parsed tools.json against tools.schema.json, each starting with `file`. */
export function toolsJsonProblems(value: unknown, file: string): string[] {
  return schemaProblems(VALIDATORS.tools, value, file);
}

/** Problems of a parsed scenario file against scenario.schema.json, each starting with `file`. */
export function scenarioJsonProblems(value: unknown, file: string): string[] {
  return schemaProblems(VALIDATORS.scenario, value, file);
}

/** `instancePath` (a JSON Pointer) as the field path the problems name: `silence.reminder`, `[0].url`. */
function fieldPath(pointer: string): string {
  if (pointer === "") return "(top level)";
  // mutation: equivalent no path in a shipped schema's errors names a key with "/" or "~" in it
  return pointer.slice(1).split("/").map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce(
      (path, key) => /^\d+$/.test(key) ? `${path}[${key}]` : path ? `${path}.${key}` : key,
      "",
    );
}

function schemaProblems(validate: ValidateFunction, value: unknown, file: string): string[] {
  if (validate(value)) return [];
  const byField = new Map<string, Worded>();
  for (const error of validate.errors ?? []) {
    const worded = wordError(error);
    const seen = worded && byField.get(worded.field);
    if (worded && (!seen || worded.rank < seen.rank)) byField.set(worded.field, worded);
  }
  return [...byField.values()].map(({ field, text }) => `${file}: ${field} ${text}`);
}

/** One ajv error in the project's wording, or null for one that only repeats others. */
function wordError(error: ErrorObject): Worded | null {
  const schema = (error.parentSchema ?? {}) as Schema;
  const properties = (schema.properties ?? {}) as Record<string, Schema | boolean>;
  const child = (key: string) =>
    error.instancePath ? `${fieldPath(error.instancePath)}.${key}` : key;
  switch (error.keyword) {
    case "if": // the then/else branch's own errors say what is wrong
      return null;
    case "required": {
      const key = String(error.params.missingProperty);
      return { field: child(key), text: `is required${hintOf(properties[key])}`, rank: 1 };
    }
    case "additionalProperties": {
      const known = Object.keys(properties).filter((key) => !key.startsWith("$"));
      return {
        field: child(String(error.params.additionalProperty)),
        text: `is not a known field (known: ${known.join(", ")})`,
        rank: 1,
      };
    }
  }
  const field = fieldPath(error.instancePath);
  const got = error.keyword === "minLength" ? "" : gotOf(error.data);
  const own = error.keyword === "pattern" && typeof schema.patternErrorMessage === "string"
    ? schema.patternErrorMessage
    : typeof schema.errorMessage === "string"
    ? schema.errorMessage
    : null;
  // A field's own message words each of its problems alike (the same value, so the same "got"):
  // in the shipped schemas no field can fail two keywords worded differently here.
  // mutation: equivalent the rank only picks among texts that are the same (see above)
  if (own) return { field, text: `${own}${got}`, rank: error.keyword === "type" ? 0 : 1 };
  if (error.keyword === "type") return { field, text: wrongType(error, schema), rank: 0 };
  return { field, text: `${mustBe(error, schema)}${got}`, rank: 1 };
}

/** A wrong type, worded as the hand-written checks did before the schema. */
function wrongType(error: ErrorObject, schema: Schema): string {
  const v = error.data;
  switch (error.params.type) {
    case "string":
      return `must be a string (got ${typeof v})`;
    case "boolean":
      return `must be true or false${gotOf(v)}`;
    case "object":
      return "must be an object";
    case "array":
      return "must be an array";
    case "integer":
      if (typeof v === "number") return `must be a whole number${gotOf(v)}`;
      return `${rangeOf(schema)}${gotOf(v)}`;
    case "number":
      return `${rangeOf(schema)}${gotOf(v)}`;
  }
  // mutation: equivalent only a union type gets here, and each shipped one has its own message
  return `${mustBe(error, schema)}${gotOf(v)}`;
}

/** What the value must be, for the keyword it failed. */
function mustBe(error: ErrorObject, schema: Schema): string {
  switch (error.keyword) {
    case "enum":
      return `must be one of ${(schema.enum as unknown[]).join(", ")}`;
    case "const":
      return `must be ${JSON.stringify(schema.const)}`;
    case "minimum":
    case "maximum":
    // mutation: equivalent no shipped schema has an exclusiveMinimum
    case "exclusiveMinimum":
    // mutation: equivalent no shipped schema has an exclusiveMaximum
    case "exclusiveMaximum":
      return rangeOf(schema);
    case "minLength":
      return error.params.limit === 1
        ? "must not be empty"
        // mutation: equivalent every minLength of the shipped schemas is 1
        : `must be at least ${error.params.limit} characters`;
    // mutation: equivalent no shipped schema has a maxLength
    case "maxLength":
      // mutation: equivalent no shipped schema has a maxLength
      return `must be at most ${error.params.limit} characters`;
    // mutation: equivalent every shipped pattern has its own message, so none is worded here
    case "pattern":
      // mutation: equivalent every shipped pattern has its own message, so none is worded here
      return `must match ${schema.pattern}`;
  }
  // The shipped schemas raise no keyword but those above and the ones worded before (required,
  // additionalProperties, type, if), so nothing reaches this line.
  // mutation: equivalent unreachable with the shipped schemas (see above)
  return error.message ?? "is not valid";
}

/** `must be a number from 0 to 600`, or with the one bound there is. */
function rangeOf(schema: Schema): string {
  const { minimum: min, maximum: max } = schema;
  if (min !== undefined && max !== undefined) return `must be a number from ${min} to ${max}`;
  // mutation: equivalent each shipped number without its own message has both bounds
  if (min !== undefined) return `must be a number of at least ${min}`;
  // mutation: equivalent each shipped number without its own message has both bounds
  if (max !== undefined) return `must be a number of at most ${max}`;
  // mutation: equivalent each shipped number without its own message has both bounds
  return schema.type === "integer" ? "must be a whole number" : "must be a number";
}

/** ` (got …)` for a scalar; nothing for an object or array (too long to repeat). */
function gotOf(value: unknown): string {
  return value !== null && typeof value === "object" ? "" : ` (got ${JSON.stringify(value)})`;
}

/** What a missing field should hold, from its schema: ` (server_vad or semantic_vad)`. */
function hintOf(schema: Schema | boolean | undefined): string {
  if (!schema || typeof schema !== "object") return "";
  if (Array.isArray(schema.enum)) {
    const values = schema.enum.map(String);
    return ` (${values.slice(0, -1).join(", ")}${values.length > 1 ? " or " : ""}${values.at(-1)})`;
  }
  if ("const" in schema) return ` (${JSON.stringify(schema.const)})`;
  const message = schema.patternErrorMessage ?? schema.errorMessage;
  return typeof message === "string" && message.startsWith("must be ")
    ? ` (${message.slice("must be ".length)})`
    : "";
}
