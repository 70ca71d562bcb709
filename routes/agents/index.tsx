/**
 * `GET /agents`: the agent profiles, each with what it runs (the files or an edit), its webhook
 * URL, and the problems that disable it or the warnings it has.
 *
 * @module
 */

import type { Handler } from "hono";
import { AgentProblems, AgentWarnings, FILES_NOTE } from "../../components/agent_status.tsx";
import { formatTime } from "../../components/format.ts";
import { Layout } from "../../components/layout.tsx";
import { renderPage } from "../../components/render.ts";
import { profileWarnings } from "../../lib/agents/agent_profile.ts";
import { publicBaseUrl } from "../../lib/platform/public_url.ts";
import type { Services } from "../../lib/services.ts";

/** Lists the profiles. */
export function agentsHandler(services: Services): Handler {
  return async (c) => {
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
    );
  };
}
