/**
 * `POST /agents/:name/scenarios/runs`: a scenario run that `deno task scenarios --url` made
 * against this deployment, reported as JSON so that the scenarios page shows it as the
 * scenario's last run (admin, like the simulator token the run's calls used). The result is
 * checked field by field, and must name this agent and one of its scenario files.
 *
 * @module
 */

import type { Handler } from "hono";
import { scenarioFiles, scenarioName } from "../../../../lib/scenarios/scenario.ts";
import { parseReportedRun, saveLastRun } from "../../../../lib/scenarios/scenario_runs.ts";
import type { Services } from "../../../../lib/services.ts";

/** Keeps the reported run (201), or says what is wrong with it (404, 422). */
export function scenarioRunsHandler(services: Services): Handler {
  return async (c) => {
    const name = c.req.param("name") ?? "";
    if (!await services.profiles.knows(name)) {
      return c.json({ error: `there is no agent "${name.slice(0, 64)}"` }, 404);
    }
    const body = await c.req.json().catch(() => undefined);
    const parsed = parseReportedRun(body);
    if (!parsed.ok) {
      return c.json({ error: "not a scenario run", problems: parsed.problems }, 422);
    }
    const { result } = parsed;
    if (result.agent !== name) {
      return c.json({ error: `the run is of agent "${result.agent}", not "${name}"` }, 422);
    }
    // Only the name is needed: the files are not parsed (their problems are the page's to show).
    const files = await scenarioFiles(`${services.config.agentsDir}/${name}/scenarios`);
    if (!files.some((file) => scenarioName(file) === result.scenario)) {
      return c.json({ error: `agent "${name}" has no scenario "${result.scenario}"` }, 404);
    }
    await saveLastRun(services.kv, result);
    services.log.info("scenario.reported", { agent: name, scenario: result.scenario });
    return c.json({ saved: true }, 201);
  };
}
