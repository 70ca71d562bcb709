/**
 * The last run of each scenario, in Deno KV, for the agent's scenarios page: whichever instance
 * ran it (the page, or `deno task scenarios` on the same KV), kept as long as call records.
 *
 * KV keys: `["scenario_run", agent, scenario]` → {@link ScenarioResult}, replaced by each run.
 *
 * @module
 */

import type { ScenarioResult } from "./scenario_run.ts";

const PREFIX = "scenario_run";
/** As long as call records are kept by default: a run links to its call's transcript. */
const KEEP_MS = 30 * 24 * 60 * 60 * 1000;

/** Keeps `result` as its scenario's last run. */
export async function saveLastRun(kv: Deno.Kv, result: ScenarioResult): Promise<void> {
  await kv.set([PREFIX, result.agent, result.scenario], result, { expireIn: KEEP_MS });
}

/** The last run of each of agent `agent`'s scenarios, by scenario name. */
export async function lastRuns(kv: Deno.Kv, agent: string): Promise<Map<string, ScenarioResult>> {
  const runs = new Map<string, ScenarioResult>();
  for await (const entry of kv.list<ScenarioResult>({ prefix: [PREFIX, agent] })) {
    runs.set(entry.value.scenario, entry.value);
  }
  return runs;
}
