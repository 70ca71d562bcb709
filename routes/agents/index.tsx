/**
 * `/agents`: the agent profiles, each with what it runs (the files or an edit), its webhook URL,
 * and the problems that disable it or the warnings it has (`GET`); a new agent, from a template or
 * a copy of another, saved in KV for every instance (`POST`).
 *
 * @module
 */

import type { Context, Handler } from "hono";
import { NewAgentForm } from "../../components/new_agent_form.tsx";
import { createAgent } from "../../lib/agents/agent_changes.ts";
import { AgentProblems, AgentWarnings, FILES_NOTE } from "../../components/agent_status.tsx";
import { formatTime } from "../../components/format.ts";
import { Layout } from "../../components/layout.tsx";
import { renderPage } from "../../components/render.ts";
import { profileWarnings } from "../../lib/agents/agent_profile.ts";
import { publicBaseUrl } from "../../lib/platform/public_url.ts";
import type { Services } from "../../lib/services.ts";

/** `GET /agents`: lists the profiles. */
export function agentsHandler(services: Services): Handler {
  return async (c) => {
    const deleted = c.req.query("deleted");
    return await renderAgents(c, services, {
      notice: deleted ? `Agent ${deleted.slice(0, 63)} was deleted.` : null,
    });
  };
}

/** `POST /agents`: creates the agent the form names (`name`, `start`: `template:…`/`copy:…`). */
export function agentCreateHandler(services: Services): Handler {
  return async (c) => {
    const form = await c.req.parseBody();
    const name = String(form.name ?? "").trim();
    const start = String(form.start ?? "");
    const [kind, from] = [start.slice(0, start.indexOf(":")), start.slice(start.indexOf(":") + 1)];
    const result = kind === "template" || kind === "copy"
      ? await createAgent(
        { ...services, agentsDir: services.config.agentsDir, records: services.records.store },
        name,
        kind === "template" ? { template: from } : { copy: from },
      )
      : { ok: false as const, problems: ["choose a template or an agent to copy"] };
    if (result.ok) return c.redirect(`/agents/${name}?created=${result.version}`, 303);
    return await renderAgents(c, services, { problems: result.problems, name, start, status: 422 });
  };
}

/** The agents page, with the new-agent form's problems when it was refused. */
async function renderAgents(
  c: Context,
  services: Services,
  state: {
    notice?: string | null;
    problems?: string[];
    name?: string;
    start?: string;
    status?: 200 | 422;
  },
): Promise<Response> {
  {
    await services.profiles.syncCreated();
    const base = publicBaseUrl(services.config.publicUrl, c.req.raw);
    const dir = services.config.agentsDir;
    const rows = await Promise.all(
      services.profiles.names().map(async (name) => ({
        name,
        status: await services.profiles.status(name),
      })),
    );
    return renderPage(
      c,
      <Layout title="Agents" active="/agents">
        <h1>Agents</h1>
        {state.notice ? <p class="notice">{state.notice}</p> : null}
        <section>
          <table>
            <thead>
              <tr>
                <th>Agent</th>
                <th>Description</th>
                <th>Path</th>
                <th>Runs</th>
                <th>Voice webhook</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ name, status }) => (
                <tr key={name} data-agent={name} data-disabled={String(!status.profile)}>
                  <td>
                    <a href={`/agents/${name}`}>{name}</a>
                    {status.profile ? null : <strong class="bad mark">disabled</strong>}
                  </td>
                  <td>{status.profile?.description || "—"}</td>
                  <td>{status.profile?.mode ?? services.config.voiceMode}</td>
                  <td>
                    {status.source === "files"
                      ? "the files"
                      : `edit v${status.version} (${formatTime(status.savedAt)} UTC)`}
                    {status.filesChanged
                      ? <strong class="bad mark">— the files changed since</strong>
                      : null}
                  </td>
                  <td>
                    <code>{`${base}/twilio/voice?agent=${name}`}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="hint">{FILES_NOTE}</p>
        </section>
        <NewAgentForm
          agents={rows.map((r) => r.name)}
          problems={state.problems ?? []}
          name={state.name ?? ""}
          start={state.start ?? "template:relay"}
        />
        {rows.map(({ name, status }) => {
          const warnings = status.profile ? profileWarnings(status.profile, dir) : [];
          if (!status.problems.length && !warnings.length) return null;
          return (
            <section key={name} data-agent-findings={name}>
              <h2>
                <a href={`/agents/${name}`}>{name}</a>
              </h2>
              <AgentProblems status={status} />
              <AgentWarnings warnings={warnings} />
            </section>
          );
        })}
      </Layout>,
      state.status ?? 200,
    );
  }
}
