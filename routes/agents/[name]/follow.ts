/**
 * `POST /agents/:name/follow`: the agent follows the files again — a new version, so it can be
 * undone — and from the next call each instance runs its own files, later file edits included.
 *
 * @module
 */

import type { Handler } from "hono";
import { agentNotFound, renderAgentEditor } from "../../../components/agent_editor.tsx";
import { formFromFiles } from "../../../lib/agents/profile_form.ts";
import type { Services } from "../../../lib/services.ts";

/** `POST /agents/:name/follow`: saves a version that follows the files. */
export function agentFollowHandler(services: Services): Handler {
  return async (c) => {
    const name = c.req.param("name") ?? "";
    if (!(await services.profiles.knows(name))) return agentNotFound(c, name);
    const result = await services.profiles.follow(name);
    if (result.ok) return c.redirect(`/agents/${name}?followed=${result.version}`, 303);
    const current = (await services.profiles.files(name))!;
    return await renderAgentEditor(c, services, {
      name,
      form: formFromFiles(current.files),
      version: current.version,
      problems: {
        general: ["The files cannot be followed: they have problems.", ...result.problems],
      },
      status: 422,
    });
  };
}
