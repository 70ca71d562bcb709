/**
 * `POST /agents/:name/restore`: saves an earlier version of a profile (or the shipped files)
 * again as the newest, so restoring is itself a version and can be undone.
 *
 * @module
 */

import type { Handler } from "hono";
import { agentNotFound, renderAgentRefusal } from "../../../components/agent_editor.tsx";
import type { Services } from "../../../lib/services.ts";

/** `POST /agents/:name/restore`: saves version `version` (0 = shipped) again as the newest. */
export function agentRestoreHandler(services: Services): Handler {
  return async (c) => {
    const name = c.req.param("name") ?? "";
    const body = await c.req.parseBody();
    const version = Number(body.version);
    if (!(await services.profiles.knows(name))) return agentNotFound(c, name);
    const result = Number.isInteger(version) && version >= 0
      ? await services.profiles.restore(name, version)
      : { ok: false as const, problems: ["no version given"] };
    if (result.ok) return c.redirect(`/agents/${name}?saved=${result.version}`, 303);
    return await renderAgentRefusal(c, services, {
      name,
      problems: result.problems,
      status: 422,
    });
  };
}
