/**
 * What `deno task scenarios` is asked to do: its flags (`--agent`, `--scenario`, `--url`,
 * `--junit`), read with `node:util`'s `parseArgs` (unknown flags refused, each problem naming
 * the flag), and which scenario files they select. `scripts/scenarios.ts` runs them.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { readProfileFolders } from "../agents/profile_folders.ts";
import { loadScenarios, type Scenario, toolNamesOf } from "./scenario.ts";

/** The command's usage line. */
export const SCENARIOS_USAGE =
  "usage: deno task scenarios [--agent NAME] [--scenario GLOB] [--url BASE] [--junit FILE]";

/** `--help`. */
export const SCENARIOS_HELP = `${SCENARIOS_USAGE}

Runs the scenarios of assets/agents/<name>/scenarios/*.json as real ConversationRelay calls
over /twilio/relay, then their checks; exits 1 when any scenario fails or is an error.

  --agent NAME      only this agent's scenarios (default: every agent's)
  --scenario GLOB   only scenarios whose name (or agent/name) matches, * and ? as wildcards
  --url BASE        against the deployment at BASE (https://…), as the admin: ADMIN_PASSWORD;
                    default: the service in this process, on the configured KV and profiles
  --junit FILE      also write JUnit XML to FILE

The caller and judge models are asked with OPENAI_API_KEY (OPENAI_BASE_URL, OPENAI_MODEL).`;

/** The command's options. */
export interface ScenarioArgs {
  agent: string | null;
  scenario: string | null;
  url: string | null;
  junit: string | null;
  help: boolean;
}

/** Bad flags or scenario files: each problem names the flag, or the file and the field. */
export class ScenarioArgsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ScenarioArgsError";
  }
}

/** Reads the flags; throws {@link ScenarioArgsError}. */
export function parseScenarioArgs(args: string[]): ScenarioArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        agent: { type: "string" },
        scenario: { type: "string" },
        url: { type: "string" },
        junit: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (err) {
    throw new ScenarioArgsError([(err as Error).message]);
  }
  const url = typeof values.url === "string" ? values.url : null;
  if (url !== null && !/^https?:\/\/[^/\s]+/.test(url)) {
    throw new ScenarioArgsError([
      `--url must be an http(s) base URL like https://voice.example.com`,
    ]);
  }
  const str = (v: unknown) => typeof v === "string" ? v : null;
  return {
    agent: str(values.agent),
    scenario: str(values.scenario),
    url,
    junit: str(values.junit),
    help: values.help === true,
  };
}

/** Whether `name` matches `glob` (`*`: any characters, `?`: one). */
export function globMatches(glob: string, name: string): boolean {
  const pattern = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(
    /\?/g,
    ".",
  );
  return new RegExp(`^${pattern}$`).test(name);
}

/**
 * The scenarios `args` select under `agentsDir`, agent by agent; throws
 * {@link ScenarioArgsError} with every problem of every selected file (none runs then), or when
 * nothing is selected.
 */
export async function selectScenarios(
  agentsDir: string,
  args: Pick<ScenarioArgs, "agent" | "scenario">,
): Promise<Scenario[]> {
  const folders = await readProfileFolders(agentsDir);
  if (args.agent !== null && !folders.has(args.agent)) {
    throw new ScenarioArgsError([
      `--agent: there is no agent "${args.agent}" in ${agentsDir} (agents: ${
        [...folders.keys()].join(", ")
      })`,
    ]);
  }
  const agents = args.agent !== null ? [args.agent] : [...folders.keys()];
  const problems: string[] = [];
  const selected: Scenario[] = [];
  for (const agent of agents) {
    const folder = folders.get(agent)!;
    const tools = folder.profile ? toolNamesOf(folder.profile) : [];
    for (const entry of await loadScenarios(agentsDir, agent, tools)) {
      const glob = args.scenario;
      if (
        glob !== null && !globMatches(glob, entry.name) &&
        !globMatches(glob, `${agent}/${entry.name}`)
      ) {
        continue;
      }
      if (!folder.profile) {
        problems.push(`${entry.file}: agent "${agent}" is disabled by its profile's problems`);
      } else if (entry.parsed.ok) selected.push(entry.parsed.scenario);
      else problems.push(...entry.parsed.problems);
    }
  }
  if (problems.length) throw new ScenarioArgsError(problems);
  if (selected.length === 0) {
    const which = [
      args.agent && `--agent ${args.agent}`,
      args.scenario && `--scenario ${args.scenario}`,
    ]
      .filter(Boolean).join(" ");
    throw new ScenarioArgsError([
      `no scenario found${which ? ` for ${which}` : ""} in ${agentsDir}`,
    ]);
  }
  return selected;
}
