/**
 * `POST /agents/:name/scenarios/run`: runs one scenario (`scenario=NAME`) or all of the agent's,
 * against the saved version or — posted from the agent page's form with `edit=1` — against the
 * unsaved edit in that form, which is validated like a save but never saved: the calls run its
 * files while the live version stays as it is. The page streams as the run goes (a line when a
 * scenario starts, its checks when it ends, then the totals); each result becomes the
 * scenario's last run on `GET /agents/:name/scenarios`.
 *
 * The calls go to the address the page was asked on. Behind a load balancer their sockets may
 * land on another instance sharing the KV: a call seen here is read from this process's feed, one
 * elsewhere from its record once it ends (see `call_follow.ts`), so the checks read the same.
 *
 * @module
 */

import type { Context, Handler } from "hono";
import { renderToString } from "preact-render-to-string";
import { agentNotFound } from "../../../../components/agent_editor.tsx";
import { Layout } from "../../../../components/layout.tsx";
import { renderPage } from "../../../../components/render.ts";
import { ScenarioRun } from "../../../../components/scenario_results.tsx";
import type { SimulatorTokens } from "../../../../lib/admin/simulator_token.ts";
import {
  type AgentProfile,
  parseProfile,
  ProfileError,
} from "../../../../lib/agents/agent_profile.ts";
import { filesFromForm, readProfileForm } from "../../../../lib/agents/profile_form.ts";
import type { ProfileFiles } from "../../../../lib/agents/profile_store.ts";
import { loadScenarios, type Scenario, toolNamesOf } from "../../../../lib/scenarios/scenario.ts";
import { scenarioModelsOf } from "../../../../lib/scenarios/scenario_models.ts";
import { runScenarios } from "../../../../lib/scenarios/scenario_run.ts";
import { localTarget } from "../../../../lib/scenarios/scenario_target.ts";
import type { Services } from "../../../../lib/services.ts";

/** Where the streamed rows go (in the list), and the totals (after it). */
const ROWS = "<!--scenario-rows-->";
const TOTALS = "<!--scenario-totals-->";

/** Runs the asked scenarios and streams their progress as the page. */
export function scenarioRunHandler(services: Services, tokens: SimulatorTokens): Handler {
  return async (c) => {
    const name = c.req.param("name") ?? "";
    const current = await services.profiles.files(name);
    if (!current) return agentNotFound(c, name);
    const body = await c.req.parseBody();
    const edit = body.edit === "1";
    let draft: ProfileFiles | null = null;
    let profile: AgentProfile | null;
    if (edit) {
      draft = filesFromForm(current.files, readProfileForm(body));
      try {
        profile = parseProfile({ name, ...draft }, services.config.agentsDir);
      } catch (err) {
        if (!(err instanceof ProfileError)) throw err;
        return refused(
          c,
          name,
          "The edit has problems, so its scenarios did not run:",
          err.problems,
        );
      }
    } else profile = await services.profiles.load(name);
    if (!profile) {
      return refused(c, name, "The agent is disabled by its profile's problems.", []);
    }
    const entries = await loadScenarios(services.config.agentsDir, name, toolNamesOf(profile));
    const asked = typeof body.scenario === "string" && body.scenario ? body.scenario : null;
    const chosen = entries.filter((e) => asked === null || e.name === asked);
    if (asked !== null && chosen.length === 0) return agentNotFound(c, `${name} scenario ${asked}`);
    const problems = chosen.flatMap((e) => e.parsed.ok ? [] : e.parsed.problems);
    const scenarios = chosen.flatMap((e) => e.parsed.ok ? [e.parsed.scenario] : []);
    const target = localTarget({ ...services, tokens }, new URL(c.req.url).origin);
    const [head, middle, tail] = `<!doctype html>${
      renderToString(
        <Layout title={`Running scenarios of ${name}`} active="/agents">
          <h1>{`Running scenarios of agent ${name}`}</h1>
          <p class="muted">
            {`${scenarios.length} scenario(s) against ${
              edit ? "the unsaved edit (the live version stays as it is)" : "the saved version"
            }.`}
          </p>
          {problems.length
            ? <ul class="bad">{problems.map((p) => <li key={p}>{p}</li>)}</ul>
            : null}
          <ol class="scenario-progress" dangerouslySetInnerHTML={{ __html: ROWS }} />
          <div class="scenario-totals" dangerouslySetInnerHTML={{ __html: TOTALS }} />
        </Layout>,
      )
    }`.split(new RegExp(`${ROWS}|${TOTALS}`));
    const encoder = new TextEncoder();
    let open = true;
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        const write = (html: string) => {
          if (open) controller.enqueue(encoder.encode(html));
        };
        write(head);
        const results = await runScenarios(scenarios, {
          target,
          models: scenarioModelsOf(services.config.openai),
          draft,
        }, {
          // A scenario's name is its file's, which may be markup: rendered, so escaped.
          started: (s: Scenario) =>
            write(renderToString(<li data-started={s.name}>{`Running ${s.name}…`}</li>)),
          finished: (result) => {
            target.save(result).catch((err) =>
              services.log.warn("scenario.save_failed", { error: String(err) })
            );
            write(renderToString(
              <li data-finished={result.scenario}>
                <strong>{result.scenario}</strong>
                <ScenarioRun result={result} />
              </li>,
            ));
          },
        });
        const count = (s: string) => results.filter((r) => r.status === s).length;
        write(middle);
        write(renderToString(
          <>
            <p id="run-done" data-passed={count("pass")} data-failed={count("fail")}>
              {`Done: ${count("pass")} passed, ${count("fail")} failed, ${count("error")} errors.`}
            </p>
            <p>
              <a href={`/agents/${name}/scenarios`}>Back to the scenarios</a>
            </p>
          </>,
        ));
        write(tail);
        if (open) controller.close();
      },
      cancel() {
        open = false; // the page was left: the run goes on, its results are kept
      },
    });
    services.log.info("scenario.run", { agent: name, scenarios: scenarios.length, edit });
    return c.body(stream, 200, { "content-type": "text/html; charset=utf-8" });
  };
}

function refused(c: Context, name: string, what: string, problems: string[]): Response {
  return renderPage(
    c,
    <Layout title={`Scenarios of ${name}`} active="/agents">
      <h1>{`Scenarios of agent ${name}`}</h1>
      <p class="bad">{what}</p>
      <ul>{problems.map((p) => <li key={p}>{p}</li>)}</ul>
      <p>
        <a href={`/agents/${name}`}>Back to the agent</a>
      </p>
    </Layout>,
    422,
  );
}
