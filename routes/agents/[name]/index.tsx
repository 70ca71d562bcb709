/**
 * `/agents/:name`: edit a profile (instructions, greeting, voice, tools, silence) with each
 * validation problem shown next to its field (`GET`); every save is a new version in KV and
 * applies from the next call (`POST`). The page itself is `components/agent_editor.tsx`.
 *
 * @module
 */

import type { Handler } from "hono";
import { agentNotFound, renderAgentEditor } from "../../../components/agent_editor.tsx";
import {
  filesFromForm,
  formFromFiles,
  problemsByField,
  readProfileForm,
} from "../../../lib/agents/profile_form.ts";
import type { Services } from "../../../lib/services.ts";

/** `GET /agents/:name`: the editor with the newest version. */
export function agentPageHandler(services: Services): Handler {
  return async (c) => {
    const name = c.req.param("name") ?? "";
    const current = await services.profiles.files(name);
    if (!current) return agentNotFound(c, name);
    const saved = Number(c.req.query("saved")) || null;
    const created = Number(c.req.query("created")) || null;
    return await renderAgentEditor(c, services, {
      name,
      form: formFromFiles(current.files),
      version: current.version,
      notice: created
        ? `Created as version ${created}: every instance answers with it from its next call.`
        : saved
        ? `Saved as version ${saved}: the next call uses it.`
        : null,
    });
  };
}

/** `POST /agents/:name`: validates and saves the form as a new version. */
export function agentSaveHandler(services: Services): Handler {
  return async (c) => {
    const name = c.req.param("name") ?? "";
    const current = await services.profiles.files(name);
    if (!current) return agentNotFound(c, name);
    const form = readProfileForm(await c.req.parseBody());
    const result = await services.profiles.save(name, filesFromForm(current.files, form));
    if (result.ok) return c.redirect(`/agents/${name}?saved=${result.version}`, 303);
    return await renderAgentEditor(c, services, {
      name,
      form,
      version: current.version,
      problems: problemsByField(result.problems),
      status: 422,
    });
  };
}
