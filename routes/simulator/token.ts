/**
 * `POST /simulator/token`: a short-lived token that opens a call socket for this admin session
 * (a browser cannot sign a WebSocket upgrade the way Twilio does) — ConversationRelay's for the
 * text mode, the Media Stream's for `mode=voice` — for a call from the caller's number typed on
 * the page and, optionally, with outbound-style params. The voice mode is refused at once (409,
 * naming the variable) while OpenAI is not configured: its call would end before a word.
 *
 * The params reach the call the way `POST /api/calls`'s do: stored in KV under a reference the
 * page's `setup` carries, which the call's context reads (`lib/calls/call_context.ts`); so
 * `{{from}}` and `{{customerName}}` render as they would on a real call. A real call cannot name
 * such a reference: its call token covers the reference the TwiML gave it.
 *
 * `scenario=1` (a scenario run from `deno task scenarios --url`) stores the params in any case,
 * tagged `scenario`, so the call's record is tagged and left out of the dashboard's default view.
 *
 * @module
 */

import type { Handler } from "hono";
import type { Services } from "../../lib/services.ts";
import type { SimulatorTokens } from "../../lib/admin/simulator_token.ts";
import { type SimulatedCall, startSimulatedCall } from "../../lib/calls/simulated_call.ts";
import { SCENARIO_TAG } from "../../lib/records/call_store.ts";

/** The caller the simulator is when the page names none. */
export const SIMULATOR_CALLER = "client:simulator";
const MAX_PARAMS = 20;
const MAX_PARAMS_CHARS = 4000;

/** The caller typed on the page, or what is wrong with it. */
function callerOf(raw: unknown): { from: string } | { error: string } {
  const from = typeof raw === "string" && raw.trim() ? raw.trim() : SIMULATOR_CALLER;
  if (/^\+[1-9]\d{6,14}$/.test(from) || /^client:[\w.-]{1,64}$/.test(from)) return { from };
  return { error: "from must be an E.164 number like +15550100123, or client:<name>" };
}

/** The params typed on the page (a JSON object of short values), or what is wrong with them. */
function paramsOf(raw: unknown): { params: Record<string, unknown> } | { error: string } {
  const text = typeof raw === "string" ? raw.trim() : "";
  if (!text) return { params: {} };
  const problem = {
    error: `params must be a JSON object of at most ${MAX_PARAMS} names (letters, digits, _ . -) ` +
      `with string, number or true/false values, at most ${MAX_PARAMS_CHARS} characters`,
  };
  if (text.length > MAX_PARAMS_CHARS) return problem;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return problem;
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return problem;
  const entries = Object.entries(value);
  const fine = entries.length <= MAX_PARAMS &&
    entries.every(([k, v]) =>
      /^[\w.-]{1,64}$/.test(k) && ["string", "number", "boolean"].includes(typeof v)
    );
  return fine ? { params: Object.fromEntries(entries) } : problem;
}

/** Answers `{ token, protocol, callSid, greeting, from, reference }` for a simulated call. */
export function simulatorTokenHandler(services: Services, tokens: SimulatorTokens): Handler {
  return async (c) => {
    const body = await c.req.parseBody();
    const agent = typeof body.agent === "string" && await services.profiles.knows(body.agent)
      ? body.agent
      : "default";
    const caller = callerOf(body.from);
    const given = paramsOf(body.params);
    if ("error" in caller) return c.json({ error: caller.error }, 400);
    if ("error" in given) return c.json({ error: given.error }, 400);
    if (body.mode === "voice" && !services.config.openai.apiKey) {
      return c.json({
        error: "OpenAI is not configured: OPENAI_API_KEY is not set, so a speech-to-speech call " +
          "cannot start (see /config)",
      }, 409);
    }
    const { from } = caller;
    const { params } = given;
    const profile = await services.profiles.load(agent);
    if (!profile) {
      return c.json({ error: `agent "${agent}" is disabled: its profile has problems` }, 409);
    }
    const scenario = body.scenario === "1";
    const call = await startSimulatedCall(
      { kv: services.kv, tokens, welcomeGreeting: services.config.relay.welcomeGreeting },
      {
        profile,
        from,
        params,
        outbound: Object.keys(params).length > 0 || scenario,
        prefix: "sim",
        ...(scenario ? { tags: [SCENARIO_TAG] } : {}),
      },
    );
    const mode = body.mode === "voice" ? "voice" : "text";
    services.log.info("simulator.token", {
      agent,
      callSid: call.callSid,
      mode,
      params: Object.keys(params).length,
    });
    return c.json(call satisfies SimulatedCall);
  };
}
