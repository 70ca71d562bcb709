/**
 * `GET /agents/:name/versions/:version`: one saved version of a profile (0 = this instance's
 * files), read-only, with a button that restores it (or follows the files) and its export.
 *
 * @module
 */

import type { Handler } from "hono";
import { RestoreButton, versionOr404 } from "../../../../components/agent_editor.tsx";
import { FollowButton } from "../../../../components/agent_status.tsx";
import { Layout } from "../../../../components/layout.tsx";
import { renderPage } from "../../../../components/render.ts";
import { SHIPPED_VERSION } from "../../../../lib/agents/profile_store.ts";
import type { Services } from "../../../../lib/services.ts";

/** `GET /agents/:name/versions/:version`: one version's files, read-only. */
export function agentVersionHandler(services: Services): Handler {
  return async (c) => {
    const found = await versionOr404(services, c);
    if (found instanceof Response) return found;
    const { name, version, files } = found;
    const label = version === SHIPPED_VERSION ? "the files" : `version ${version}`;
    return renderPage(
      c,
      <Layout title={`${name}: ${label}`} active="/agents">
        <h1>
          <a href={`/agents/${name}`}>{name}</a>: {label}
        </h1>
        {version === SHIPPED_VERSION
          ? <FollowButton name={name} />
          : <RestoreButton name={name} version={version} />}
        <p>
          <a href={`/agents/${name}/export/${version}`}>Export to files</a>
        </p>
        <section>
          <h2>agent.json</h2>
          <pre>{files.agentJson}</pre>
          <h2>instructions.md</h2>
          <pre>{files.instructions}</pre>
          <h2>tools.json</h2>
          <pre>{files.toolsJson ?? "(none)"}</pre>
        </section>
      </Layout>,
    );
  };
}
