/**
 * A scenario's result, and the last run of each scenario in Deno KV for the agent's scenarios page: whichever instance
 * ran it (the page, or `deno task scenarios` on the same KV), and the runs `deno task scenarios
 * --url` reports to a deployment (`POST /agents/:name/scenarios/runs`, parsed here), kept as long
 * as call records.
 *
 * KV keys: `["scenario_run", agent, scenario]` → {@link ScenarioResult}, replaced by each run.
 *
 * @module
 */

import { Ajv } from "ajv";
import { CHECK_TYPES } from "./scenario.ts";
import type { CheckResult } from "./scenario_checks.ts";

/** How a scenario came out. */
export type ScenarioStatus = "pass" | "fail" | "error";

/** One scenario's run. */
export interface ScenarioResult {
  agent: string;
  scenario: string;
  description: string;
  status: ScenarioStatus;
  checks: CheckResult[];
  /** Why it is an error (null unless `status` is `error`). */
  error: string | null;
  /** The call's SID, once it started (its transcript is on `/calls/:sid`). */
  callSid: string | null;
  /** Against the saved version or an unsaved edit. */
  version: "saved" | "edit";
  startedAt: number;
  durationMs: number;
}

const PREFIX = "scenario_run";
/** As long as call records are kept by default: a run links to its call's transcript. */
const KEEP_MS = 30 * 24 * 60 * 60 * 1000;
/** Longest text kept of a reported run (a check's detail, an error, a description). */
const MAX_TEXT = 2000;
/** A KV value holds at most 64 KiB: a kept run stays under this, with room to spare. */
const MAX_VALUE_BYTES = 60_000;
/** Texts are never shortened below this while making a run fit. */
const MIN_TEXT = 40;

/** Keeps `result` as its scenario's last run (its texts shortened if it would not fit KV). */
export async function saveLastRun(kv: Deno.Kv, result: ScenarioResult): Promise<void> {
  await kv.set([PREFIX, result.agent, result.scenario], fitted(result), { expireIn: KEEP_MS });
}

/**
 * `result` with its texts cut, each to the same length, until it fits one KV value: a check's
 * detail may quote a whole tool call, and 100 checks of 2000 characters are 400 KB.
 */
function fitted(result: ScenarioResult): ScenarioResult {
  let max = Infinity;
  for (;;) {
    const cut = (text: string) => text.length > max ? `${text.slice(0, max - 1)}…` : text;
    const fit: ScenarioResult = {
      ...result,
      description: cut(result.description),
      error: result.error === null ? null : cut(result.error),
      checks: result.checks.map((c) => ({ ...c, name: cut(c.name), detail: cut(c.detail) })),
    };
    // V8 keeps a string in one or two bytes a UTF-16 unit: twice the JSON is an upper bound.
    if (JSON.stringify(fit).length * 2 <= MAX_VALUE_BYTES || max === MIN_TEXT) return fit;
    max = max === Infinity ? MAX_TEXT : Math.max(MIN_TEXT, Math.floor(max / 2));
  }
}

/** The last run of each of agent `agent`'s scenarios, by scenario name. */
export async function lastRuns(kv: Deno.Kv, agent: string): Promise<Map<string, ScenarioResult>> {
  const runs = new Map<string, ScenarioResult>();
  for await (const entry of kv.list<ScenarioResult>({ prefix: [PREFIX, agent] })) {
    runs.set(entry.value.scenario, entry.value);
  }
  return runs;
}

/**
 * Every key of `T`, named once each (the compiler says when `T` gains or loses one); the values
 * are placeholders.
 */
function requiredKeys<T>(keys: Record<keyof T, null>): string[] {
  return Object.keys(keys);
}

const text = (maxLength = MAX_TEXT) => ({ type: "string", maxLength }) as const;

/** A {@link CheckResult} on the wire. */
const CHECK_SCHEMA = {
  type: "object",
  properties: {
    name: text(200),
    type: {
      type: "string",
      enum: CHECK_TYPES,
    },
    status: { type: "string", enum: ["pass", "fail"] },
    detail: text(),
  },
  required: requiredKeys<CheckResult>({ name: null, type: null, status: null, detail: null }),
  additionalProperties: false,
};

/** A {@link ScenarioResult} on the wire. */
const RESULT_SCHEMA = {
  type: "object",
  properties: {
    // Both are checked against the deployment's agents and scenario files by the route.
    agent: text(64),
    scenario: text(200),
    description: text(),
    status: { type: "string", enum: ["pass", "fail", "error"] },
    checks: { type: "array", items: CHECK_SCHEMA, maxItems: 100 },
    error: { type: ["string", "null"], maxLength: MAX_TEXT },
    callSid: { type: ["string", "null"], pattern: "^CA[0-9a-f]{32}$" },
    version: { type: "string", enum: ["saved", "edit"] },
    startedAt: { type: "integer", minimum: 0 },
    durationMs: { type: "number", minimum: 0 },
  },
  required: requiredKeys<ScenarioResult>({
    agent: null,
    scenario: null,
    description: null,
    status: null,
    checks: null,
    error: null,
    callSid: null,
    version: null,
    startedAt: null,
    durationMs: null,
  }),
  additionalProperties: false,
};

/** Compiled once; nothing else is kept. */
const validateResult = new Ajv({ allErrors: true, allowUnionTypes: true })
  .compile<ScenarioResult>(RESULT_SCHEMA);

/** A reported run, checked field by field; every problem names its field. */
export function parseReportedRun(
  value: unknown,
): { ok: true; result: ScenarioResult } | { ok: false; problems: string[] } {
  if (validateResult(value)) return { ok: true, result: value };
  const problems = (validateResult.errors ?? []).map((e) =>
    `${e.instancePath.slice(1).replaceAll("/", ".") || "(top level)"} ${e.message ?? "is wrong"}`
  );
  return { ok: false, problems };
}
