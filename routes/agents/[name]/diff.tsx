/**
 * `GET /agents/:name/diff?from=A&to=B`: the line differences between two versions of a profile
 * (a version number; 0 or `files` = this instance's files), file by file, rendered on the server.
 *
 * @module
 */

import type { Handler } from "hono";
import { agentNotFound } from "../../../components/agent_editor.tsx";
import { DiffView } from "../../../components/agent_status.tsx";
import { Layout } from "../../../components/layout.tsx";
import { renderPage } from "../../../components/render.ts";
import { profileDiff } from "../../../lib/agents/profile_diff.ts";
import { SHIPPED_VERSION } from "../../../lib/agents/profile_store.ts";
import type { Services } from "../../../lib/services.ts";

/** `GET /agents/:name/diff`: from `from` to `to`. */
export function agentDiffHandler(services: Services): Handler {
  return async (c) => {
    const name = c.req.param("name") ?? "";
    const [from, to] = [c.req.query("from"), c.req.query("to")].map(versionOf);
    const [a, b] = await Promise.all(
      [from, to].map((v) => v === null ? null : services.profiles.versionFiles(name, v)),
    );
    if (!a || !b) {
      return agentNotFound(c, `${name} versions ${c.req.query("from")} and ${c.req.query("to")}`);
    }
    const label = (v: number) => v === SHIPPED_VERSION ? "the files" : `v${v}`;
    return renderPage(
      c,
      <Layout title={`${name}: ${label(from!)} → ${label(to!)}`} active="/agents">
        <h1>
          <a href={`/agents/${name}`}>{name}</a>: {`${label(from!)} → ${label(to!)}`}
        </h1>
        <p class="muted">Lines marked - are only in {label(from!)}, + only in {label(to!)}.</p>
        <DiffView diffs={profileDiff(a, b)} />
      </Layout>,
    );
  };
}

/** A version number from the query: digits, or `files` (0); else null. */
function versionOf(raw: string | undefined): number | null {
  if (raw === "files") return SHIPPED_VERSION;
  return raw && /^\d{1,9}$/.test(raw) ? Number(raw) : null;
}
