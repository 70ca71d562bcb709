/**
 * `GET /agents/:name/scenarios`: the agent's scenarios (`assets/agents/<name>/scenarios/*.json`),
 * each with its last run — pass or fail per check, the judge's reasons, a link to the call's
 * transcript — and buttons that run one or all of them against the saved version
 * (`POST /agents/:name/scenarios/run`, which streams the run to the page). The agent page's form
 * runs them against its unsaved edit the same way. Files with problems are listed with them.
 *
 * @module
 */

import type { Handler } from "hono";
import { agentNotFound } from "../../../../components/agent_editor.tsx";
import { Layout } from "../../../../components/layout.tsx";
import { renderPage } from "../../../../components/render.ts";
import { ScenarioRun, ScenarioSummary } from "../../../../components/scenario_results.tsx";
import { loadScenarios, toolNamesOf } from "../../../../lib/scenarios/scenario.ts";
import { lastRuns } from "../../../../lib/scenarios/scenario_runs.ts";
import type { Services } from "../../../../lib/services.ts";

/** Renders the scenarios page of agent `:name`. */
export function scenariosPageHandler(services: Services): Handler {
  return async (c) => {
    const name = c.req.param("name") ?? "";
    if (!services.profiles.has(name)) return agentNotFound(c, name);
    const profile = await services.profiles.load(name);
    const dir = `${services.config.agentsDir}/${name}/scenarios`;
    const entries = await loadScenarios(
      services.config.agentsDir,
      name,
      profile ? toolNamesOf(profile) : [],
    );
    const runs = await lastRuns(services.kv, name);
    const problems = entries.flatMap((e) => e.parsed.ok ? [] : e.parsed.problems);
    const action = `/agents/${name}/scenarios/run`;
    return renderPage(
      c,
      <Layout title={`Scenarios of ${name}`} active="/agents">
        <h1>{`Scenarios of agent ${name}`}</h1>
        <p class="muted">
          Simulated calls over the real ConversationRelay socket, checked before a change goes live:
          the files in <code>{dir}</code>, also run by <code>deno task scenarios</code>
          . Runs are recorded like any other call, tagged <code>scenario</code> (
          <a href="/?tag=scenario">the scenario runs</a>). To test an edit before saving it, use
          {" "}
          <em>Run the scenarios on this edit</em> on <a href={`/agents/${name}`}>the agent page</a>.
        </p>
        {profile ? null : (
          <p class="bad">
            The agent is disabled by its profile's problems: its scenarios cannot run.
          </p>
        )}
        {problems.length
          ? (
            <section class="problems" data-scenario-problems>
              <h2>Scenario files with problems (not run)</h2>
              <ul>{problems.map((p) => <li key={p}>{p}</li>)}</ul>
            </section>
          )
          : null}
        {entries.length === 0
          ? <p>This agent has no scenarios yet.</p>
          : (
            <form method="post" action={action}>
              <button type="submit" data-action="run-all" disabled={!profile}>
                Run all against the saved version
              </button>
            </form>
          )}
        {entries.filter((e) => e.parsed.ok).map((entry) => {
          if (!entry.parsed.ok) return null;
          const last = runs.get(entry.name);
          return (
            <section key={entry.name} class="card scenario" data-scenario={entry.name}>
              <h2>{entry.name}</h2>
              <ScenarioSummary scenario={entry.parsed.scenario} />
              <form method="post" action={action}>
                <input type="hidden" name="scenario" value={entry.name} />
                <button type="submit" class="secondary" data-action="run" disabled={!profile}>
                  Run
                </button>
              </form>
              <h3>Last run</h3>
              {last ? <ScenarioRun result={last} /> : <p class="muted">Never run.</p>}
            </section>
          );
        })}
      </Layout>,
    );
  };
}
