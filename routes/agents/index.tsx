/**
 * `GET /agents`: the agent profiles, with their newest version and webhook URL.
 *
 * @module
 */

import type { Handler } from "hono";
import { Layout } from "../../components/layout.tsx";
import { renderPage } from "../../components/render.ts";
import { publicBaseUrl } from "../../lib/platform/public_url.ts";
import type { Services } from "../../lib/services.ts";

/** Lists the profiles. */
export function agentsHandler(services: Services): Handler {
  return async (c) => {
    const base = publicBaseUrl(services.config.publicUrl, c.req.raw);
    const rows = await Promise.all(
      services.profiles.names().map(async (name) => ({
        name,
        profile: await services.profiles.load(name),
        version: (await services.profiles.versions(name, 1))[0]?.version ?? 0,
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
                <th>Version</th>
                <th>Voice webhook</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ name, profile, version }) => (
                <tr key={name}>
                  <td>
                    <a href={`/agents/${name}`}>{name}</a>
                  </td>
                  <td>{profile.description || "—"}</td>
                  <td>{profile.mode ?? services.config.voiceMode}</td>
                  <td>{version === 0 ? "shipped files" : `v${version}`}</td>
                  <td>
                    <code>{`${base}/twilio/voice?agent=${name}`}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </Layout>,
    );
  };
}
