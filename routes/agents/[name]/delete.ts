/**
 * `POST /agents/:name/delete`: deletes an agent created from the pages — refused for a shipped
 * agent (it can follow its files instead) and while a number or a pending outbound call uses it.
 *
 * @module
 */

import type { Handler } from "hono";
import { agentNotFound, renderAgentRefusal } from "../../../components/agent_editor.tsx";
import { deleteAgent } from "../../../lib/agents/agent_changes.ts";
import type { Services } from "../../../lib/services.ts";

/** Deletes the agent, or shows its page with why not (409). */
export function agentDeleteHandler(services: Services): Handler {
  return async (c) => {
    const name = c.req.param("name") ?? "";
    const current = await services.profiles.files(name);
    if (!current) return agentNotFound(c, name);
    const result = await deleteAgent(
      { ...services, agentsDir: services.config.agentsDir, records: services.records.store },
      name,
    );
    if (result.ok) return c.redirect(`/agents?deleted=${encodeURIComponent(name)}`, 303);
    return await renderAgentRefusal(c, services, {
      name,
      problems: result.problems,
      status: 409,
    });
  };
}
