/**
 * `POST /agents/:name/tools/:tool/test`: runs one tool of the agent's running version with the
 * arguments typed on the agent page (validated against its schema first: refused arguments are
 * a 400 and nothing runs), outside any call, and shows the request, the answer and the time.
 *
 * @module
 */

import type { Handler } from "hono";
import { agentNotFound } from "../../../../../components/agent_editor.tsx";
import { renderToolTest } from "../../../../../components/tool_tester.tsx";
import { httpToolRequest } from "../../../../../lib/agents/http_tool.ts";
import type { CallControls, ToolContext } from "../../../../../lib/agents/tools.ts";
import { ownBaseUrl, type Services } from "../../../../../lib/services.ts";

/** Validates the arguments, runs the tool and renders what happened. */
export function toolTestHandler(services: Services): Handler {
  return async (c) => {
    const agent = c.req.param("name") ?? "";
    const name = c.req.param("tool") ?? "";
    if (!(await services.profiles.knows(agent))) return agentNotFound(c, agent);
    const profile = await services.profiles.load(agent);
    if (!profile) {
      return c.text(`Agent ${agent} is disabled: fix the problems on /agents/${agent} first`, 409);
    }
    const tools = services.toolSets.for(profile);
    if (!tools.tool(name)) return agentNotFound(c, `${agent}/tools/${name}`);
    const body = await c.req.parseBody();
    const typed = typeof body.arguments === "string" ? body.arguments : "";
    const checked = tools.check(name, typed);
    if (!checked.ok) {
      return renderToolTest(c, { agent, tool: name, arguments: typed, refused: checked.error });
    }
    const spec = profile.httpTools.find((t) => t.name === name);
    let request;
    if (spec) {
      try {
        const made = httpToolRequest(spec, checked.args, ownBaseUrl(services.config));
        request = { method: made.method, url: made.url.href, body: made.body };
      } catch {
        request = undefined; // the run below reports why
      }
    }
    const effects: string[] = [];
    const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
    const context: ToolContext = {
      call: {
        callSid,
        from: "client:tool-test",
        to: "client:callbridge",
        direction: "inbound",
        agent: profile.name,
        mode: "relay",
        params: {},
      },
      profile,
      controls: recordingControls(effects),
      sms: null,
      handoffNumber: services.config.handoffNumber,
      signal: new AbortController().signal,
      log: services.log.child({ toolTest: name }),
    };
    const result = await tools.call(name, typed, context);
    services.log.info("tool.tested", { agent, tool: name, ok: result.ok, ms: result.durationMs });
    return renderToolTest(c, {
      agent,
      tool: name,
      arguments: typed,
      request,
      effects,
      ok: result.ok,
      output: result.output,
      durationMs: result.durationMs,
    });
  };
}

/** Controls that only note what a built-in would have done to a call. */
function recordingControls(effects: string[]): CallControls {
  return {
    endCall: (detail) => void effects.push(`end the call (${detail})`),
    transferToHuman: ({ number }) => void effects.push(`transfer to ${number ?? "a person"}`),
    sendDigits: (digits) => void effects.push(`press ${digits}`),
    switchLanguage: (language) => void effects.push(`switch to ${language}`),
  };
}
