/**
 * Scenario files: `assets/agents/<name>/scenarios/*.json`, each one simulated call against the
 * agent — who calls (a model playing a persona towards a goal, or scripted turns with key presses
 * and interruptions), the call's params, and the checks its result must pass. Validated by the
 * published `assets/agents/scenario.schema.json`; every problem names the file and the field, and
 * a check naming a tool the agent does not have is refused (a typo would make `tool_not_called`
 * pass for ever).
 *
 * @module
 */

import { Ajv } from "ajv";
import type { AgentProfile } from "../agents/agent_profile.ts";
import { scenarioJsonProblems } from "../agents/profile_schema.ts";

/** One scripted caller turn. */
export interface ScriptedTurn {
  say?: string;
  /** Keys pressed, one `dtmf` message each. */
  press?: string;
  /** Said over the agent's answer to the turn before, once its first words arrive. */
  interrupt?: boolean;
  hangUp?: boolean;
}

/** Who calls. */
export type ScenarioCaller =
  | { kind: "scripted"; turns: ScriptedTurn[] }
  | { kind: "model"; persona: string; goal: string; maxTurns: number; model: string | null };

/** One check of a scenario's result. */
export type ScenarioCheck =
  & { name: string }
  & (
    | {
      type: "tool_called";
      tool: string;
      arguments: Record<string, unknown> | null;
      argumentsMatch: string | null;
    }
    | { type: "tool_not_called"; tool: string }
    | { type: "ended"; outcome: string }
    | {
      type: "transcript_contains" | "transcript_excludes";
      text: string;
      role: "agent" | "caller" | "any";
    }
    | { type: "latency_under"; ms: number }
    | { type: "judged"; rubric: string; model: string | null }
  );

/** Every type of check, once (a record, so the compiler holds it to {@link ScenarioCheck}). */
export const CHECK_TYPES = Object.keys(
  {
    tool_called: true,
    tool_not_called: true,
    ended: true,
    transcript_contains: true,
    transcript_excludes: true,
    latency_under: true,
    judged: true,
  } satisfies Record<ScenarioCheck["type"], true>,
) as ScenarioCheck["type"][];

/** A scenario as the runner runs it. */
export interface Scenario {
  /** The file's name without `.json`. */
  name: string;
  agent: string;
  description: string;
  from: string;
  params: Record<string, string | number | boolean>;
  caller: ScenarioCaller;
  checks: ScenarioCheck[];
}

/** A scenario file, or every problem found in it. */
export type ParsedScenario =
  | { ok: true; scenario: Scenario }
  | { ok: false; problems: string[] };

/** Turns a model-played caller takes when its file says nothing. */
export const DEFAULT_MAX_TURNS = 8;
/** Who calls when the file names nobody. */
export const SCENARIO_CALLER = "client:scenario";

type Json = Record<string, unknown>;

/**
 * Parses and checks one scenario file's text; `file` (its path) starts every problem, and
 * `tools` are the names of the agent's tools that checks may name.
 */
export function parseScenario(
  text: string,
  where: { file: string; agent: string; tools: readonly string[] },
): ParsedScenario {
  const { file } = where;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [`${file}: is not valid JSON (${(err as Error).message})`] };
  }
  const problems = scenarioJsonProblems(value, file);
  if (problems.length) return { ok: false, problems };
  const json = value as Json;
  const caller = json.caller as Json;
  const rawChecks = json.checks as Json[];
  const turns = caller.turns as ScriptedTurn[] | undefined;
  turns?.forEach((turn, i) => {
    if (turn.say === undefined && turn.press === undefined && turn.hangUp !== true) {
      problems.push(`${file}: caller.turns[${i}] must say, press or hang up`);
    }
    if (turn.interrupt && turn.say === undefined) {
      problems.push(`${file}: caller.turns[${i}].interrupt needs something to say`);
    }
    if (turn.interrupt && i === 0) {
      problems.push(`${file}: caller.turns[0].interrupt has no answer before it to interrupt`);
    }
  });
  rawChecks.forEach((check, i) => {
    const tool = check.tool;
    if (typeof tool === "string" && !where.tools.includes(tool)) {
      problems.push(
        `${file}: checks[${i}].tool "${tool}" is not a tool of agent "${where.agent}" ` +
          `(its tools: ${where.tools.join(", ") || "none"})`,
      );
    }
    if (typeof check.argumentsMatch === "string") {
      try {
        new RegExp(check.argumentsMatch);
      } catch {
        problems.push(`${file}: checks[${i}].argumentsMatch is not a regular expression`);
      }
    }
    if (check.arguments && typeof check.arguments === "object") {
      // Compiled as the check will be (scenario_checks.ts), so a bad one is named now, not mid-run.
      try {
        new Ajv({ strict: false }).compile(check.arguments as Record<string, unknown>);
      } catch (err) {
        problems.push(
          `${file}: checks[${i}].arguments is not a JSON Schema (${(err as Error).message})`,
        );
      }
    }
    const argumentFields = check.arguments !== undefined || check.argumentsMatch !== undefined;
    if (argumentFields && check.type !== "tool_called") {
      problems.push(`${file}: checks[${i}] has arguments, which only tool_called checks take`);
    }
  });
  if (problems.length) return { ok: false, problems };
  return {
    ok: true,
    scenario: {
      name: scenarioName(file),
      agent: where.agent,
      description: typeof json.description === "string" ? json.description : "",
      from: typeof json.from === "string" ? json.from : SCENARIO_CALLER,
      params: (json.params ?? {}) as Scenario["params"],
      caller: turns ? { kind: "scripted", turns } : {
        kind: "model",
        persona: String(caller.persona),
        goal: String(caller.goal),
        maxTurns: typeof caller.maxTurns === "number" ? caller.maxTurns : DEFAULT_MAX_TURNS,
        model: typeof caller.model === "string" ? caller.model : null,
      },
      checks: rawChecks.map(checkOf),
    },
  };
}

/** The names of a profile's tools, built-in and HTTP, that a scenario's checks may name. */
export function toolNamesOf(profile: Pick<AgentProfile, "builtinTools" | "httpTools">): string[] {
  return [...profile.builtinTools, ...profile.httpTools.map((tool) => tool.name)];
}

/** `…/scenarios/books_a_slot.json` → `books_a_slot`. */
export function scenarioName(file: string): string {
  return (file.split("/").at(-1) ?? file).replace(/\.json$/, "");
}

function checkOf(raw: Json): ScenarioCheck {
  const str = (key: string) => typeof raw[key] === "string" ? raw[key] as string : null;
  const given = str("name");
  switch (raw.type) {
    case "tool_called": {
      const tool = str("tool")!;
      const args = (raw.arguments ?? null) as Record<string, unknown> | null;
      const match = str("argumentsMatch");
      const detail = args
        ? " with matching arguments"
        : match
        ? ` with arguments ~ /${match}/`
        : "";
      return {
        type: "tool_called",
        tool,
        arguments: args,
        argumentsMatch: match,
        name: given ?? `${tool} was called${detail}`,
      };
    }
    case "tool_not_called":
      return {
        type: "tool_not_called",
        tool: str("tool")!,
        name: given ?? `${str("tool")} not called`,
      };
    case "ended":
      return { type: "ended", outcome: str("outcome")!, name: given ?? `ended ${str("outcome")}` };
    case "transcript_contains":
    case "transcript_excludes": {
      const role = (str("role") ?? "agent") as "agent" | "caller" | "any";
      const verb = raw.type === "transcript_contains" ? "says" : "never says";
      const who = role === "any" ? "someone" : `the ${role}`;
      return {
        type: raw.type,
        text: str("text")!,
        role,
        name: given ?? `${who} ${verb} "${str("text")}"`,
      };
    }
    case "latency_under":
      return {
        type: "latency_under",
        ms: raw.ms as number,
        name: given ?? `turns under ${raw.ms} ms`,
      };
    default:
      return {
        type: "judged",
        rubric: str("rubric")!,
        model: str("model"),
        name: given ?? `judged: ${str("rubric")!.slice(0, 60)}`,
      };
  }
}

/** Every `*.json` under `dir` (an agent's scenarios folder), sorted; none when it is missing. */
export async function scenarioFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".json")) names.push(entry.name);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  return names.sort().map((name) => `${dir}/${name}`);
}

/** An agent's scenarios as read from its folder, each parsed or with its problems. */
export interface ScenarioEntry {
  file: string;
  name: string;
  parsed: ParsedScenario;
}

/** Reads and parses every scenario of agent `agent` under `agentsDir`. */
export async function loadScenarios(
  agentsDir: string,
  agent: string,
  tools: readonly string[],
): Promise<ScenarioEntry[]> {
  const files = await scenarioFiles(`${agentsDir}/${agent}/scenarios`);
  return await Promise.all(files.map(async (file) => ({
    file,
    name: scenarioName(file),
    parsed: parseScenario(await Deno.readTextFile(file), { file, agent, tools }),
  })));
}
