/**
 * `GET /agents/:name/export/:version`: one version of a profile (0 = this instance's
 * files) as a zip of `<name>/agent.json`, `<name>/instructions.md` and `<name>/tools.json`, byte
 * for byte, to unzip into `assets/agents/` and commit (see `lib/agents/profile_export.ts`).
 *
 * @module
 */

import type { Handler } from "hono";
import { versionOr404 } from "../../../../components/agent_editor.tsx";
import { exportZip } from "../../../../lib/agents/profile_export.ts";
import type { Services } from "../../../../lib/services.ts";

/** `GET /agents/:name/export/:version`: the version's files as a zip download. */
export function agentExportHandler(services: Services): Handler {
  return async (c) => {
    const found = await versionOr404(services, c);
    if (found instanceof Response) return found;
    const { name, version, files } = found;
    const zip = exportZip(name, files);
    return c.body(zip.slice().buffer, 200, {
      "content-type": "application/zip",
      "content-disposition": `attachment; filename="${name}-v${version}.zip"`,
    });
  };
}
