/**
 * Placing outbound calls: validate the request, store its params in KV under a fresh call
 * reference (so whichever instance takes the call's socket finds them), and ask Twilio to call
 * with the agent's TwiML.
 *
 * @module
 */

import { agentTwiml } from "../calls/agent_twiml.ts";
import type { VoiceMode } from "../platform/config.ts";
import { errorMessage, maskNumbersIn } from "../platform/log.ts";
import { saveOutbound } from "../records/outbound_store.ts";
import type { ProfileStore } from "../agents/profile_store.ts";
import type { Config } from "../platform/config.ts";
import type { Logger } from "../platform/log.ts";
import type { TwilioApi } from "../platform/twilio_api.ts";
import type { TwimlSources } from "../calls/agent_twiml.ts";

/** What placing an outbound call uses. */
export interface OutboundDeps extends TwimlSources {
  config: TwimlSources["config"] & Pick<Config, "twilioPhoneNumber" | "publicUrl">;
  profiles: TwimlSources["profiles"] & Pick<ProfileStore, "load">;
  twilio: TwilioApi | null;
  kv: Deno.Kv;
  log: Logger;
}

/** The largest `params` object accepted, as JSON. */
export const MAX_PARAMS_BYTES = 16 * 1024;

/** A validated `POST /api/calls` body. */
export interface OutboundRequest {
  to: string;
  agent: string;
  mode: VoiceMode | null;
  params: Record<string, unknown>;
}

/** A failure with the HTTP status it answers with. */
export class OutboundError extends Error {
  constructor(readonly status: 400 | 409 | 413 | 422 | 429 | 502 | 503, message: string) {
    super(message);
    this.name = "OutboundError";
  }
}

/** Validates a request body against the known agents and the destinations calls may go to. */
export function parseOutboundRequest(
  body: unknown,
  agents: { has(name: string): boolean },
  destinations: { allowed: readonly string[]; denied: readonly string[] } = {
    allowed: [],
    denied: [],
  },
): OutboundRequest {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new OutboundError(400, "The body must be a JSON object: { to, agent, params }.");
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !["to", "agent", "mode", "params"].includes(k));
  if (unknown.length) throw new OutboundError(400, `Unknown field: ${unknown.join(", ")}.`);
  if (typeof b.to !== "string" || !/^\+[1-9]\d{6,14}$/.test(b.to)) {
    throw new OutboundError(400, '"to" must be an E.164 phone number like +15550100.');
  }
  const to = b.to;
  if (destinations.denied.some((p) => to.startsWith(p))) {
    throw new OutboundError(
      422,
      `"to" is in a range this service does not call (OUTBOUND_DENIED_PREFIXES: premium rate and the like).`,
    );
  }
  if (destinations.allowed.length && !destinations.allowed.some((p) => to.startsWith(p))) {
    throw new OutboundError(
      422,
      `"to" is outside OUTBOUND_ALLOWED_PREFIXES (${destinations.allowed.join(", ")}).`,
    );
  }
  const agent = b.agent === undefined ? "default" : b.agent;
  if (typeof agent !== "string" || !agents.has(agent)) {
    throw new OutboundError(422, `"agent" must name a known agent (got ${JSON.stringify(agent)}).`);
  }
  if (b.mode !== undefined && b.mode !== "relay" && b.mode !== "realtime") {
    throw new OutboundError(400, '"mode" must be "relay" or "realtime".');
  }
  const params = b.params ?? {};
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    throw new OutboundError(400, '"params" must be a JSON object.');
  }
  const size = new TextEncoder().encode(JSON.stringify(params)).length;
  if (size > MAX_PARAMS_BYTES) {
    throw new OutboundError(
      413,
      `"params" is ${size} bytes; at most ${MAX_PARAMS_BYTES} are allowed.`,
    );
  }
  return {
    to: b.to,
    agent,
    mode: (b.mode as VoiceMode | undefined) ?? null,
    params: params as Record<string, unknown>,
  };
}

/** Places the call; resolves with its SID and reference. */
export async function placeOutboundCall(
  services: OutboundDeps,
  request: OutboundRequest,
): Promise<{ callSid: string; reference: string }> {
  const { config, twilio } = services;
  if (!twilio) {
    throw new OutboundError(
      503,
      "Twilio is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.",
    );
  }
  if (!config.twilioPhoneNumber) {
    throw new OutboundError(
      503,
      "TWILIO_PHONE_NUMBER is not set: it is the caller ID of outbound calls.",
    );
  }
  if (!config.publicUrl) {
    throw new OutboundError(
      503,
      "PUBLIC_URL is not set: Twilio needs it to reach the call's socket.",
    );
  }
  // The newest saved version, for the TwiML; a disabled agent places no call.
  const profile = await services.profiles.load(request.agent);
  if (!profile) {
    throw new OutboundError(
      409,
      `agent "${request.agent}" is disabled: its profile has problems (see /agents)`,
    );
  }
  const reference = crypto.randomUUID();
  const record = {
    reference,
    agent: request.agent,
    to: request.to,
    params: request.params,
    createdAt: Date.now(),
  };
  await saveOutbound(services.kv, record);
  const twiml = await agentTwiml(services, {
    base: config.publicUrl,
    agent: request.agent,
    mode: request.mode,
    call: {
      callSid: "",
      from: config.twilioPhoneNumber,
      to: request.to,
      direction: "outbound-api",
    },
    params: request.params,
    reference,
  });
  let callSid: string;
  try {
    callSid = await twilio.createCall({
      to: request.to,
      twiml,
      statusCallback: `${config.publicUrl}/twilio/status`,
      recordingStatusCallback: profile.record ? `${config.publicUrl}/twilio/recording` : null,
    });
  } catch (err) {
    // Twilio's message may quote the number: the log masks it, and so does the answer.
    services.log.error("outbound.failed", { error: errorMessage(err) });
    throw new OutboundError(502, `Twilio refused the call: ${maskNumbersIn(errorMessage(err))}`);
  }
  // The call is placed: a failure to note its SID must not turn it into an error (a retry with
  // the same Idempotency-Key would place a second call).
  await saveOutbound(services.kv, { ...record, callSid }).catch((err) =>
    services.log.warn("outbound.save_failed", { callSid, error: errorMessage(err) })
  );
  services.log.info("outbound.placed", { callSid, agent: request.agent });
  return { callSid, reference };
}
