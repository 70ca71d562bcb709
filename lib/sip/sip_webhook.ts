/**
 * `POST /openai/webhook`: OpenAI's project webhook for SIP calls whose audio never passes
 * through the service. Each event is verified with `client.webhooks.unwrap` (Standard Webhooks,
 * `OPENAI_WEBHOOK_SECRET`, over the raw body; unsigned, stale or forged: 400) and handled once
 * per `webhook-id` across instances (a KV entry written atomically). An incoming call is
 * answered at once (200) and dealt with after: accepted with the agent's session on the surface
 * of the agent's engine (`live.transport.incoming` → `client.live.sessions.accept`,
 * `realtime.call.incoming` → `client.realtime.calls.accept`; the same call's event on the other
 * surface is left alone, as the first accept picks the surface), or rejected — 486 at capacity,
 * 503 while draining or when the agent cannot answer, 603 when its headers carry a call token
 * that does not check out (SIP headers are caller-supplied metadata). An accepted call gets its
 * sideband ({@link SipWebhookDeps.accepted}). A call from an Elastic SIP Trunk carries none of our
 * headers: its agent is the one `SIP_TRUNK_AGENTS` names for the dialled number, else `default`.
 *
 * @module
 */

import type OpenAI from "openai";
import { InvalidWebhookSignatureError } from "openai/error";
import { voiceEngineOf } from "../agents/model_settings.ts";
import type { ProfileStore } from "../agents/profile_store.ts";
import { type AdmissionState, limitHit, refuseCall } from "../calls/admission.ts";
import type { CallContext, CallStart } from "../calls/call_context.ts";
import type { CallTokens } from "../calls/call_token.ts";
import type { Config } from "../platform/config.ts";
import { errorMessage, type Logger } from "../platform/log.ts";
import {
  liveAccept,
  realtimeAccept,
  type SipCallData,
  type SipSessionOptions,
  sipWebhookEvent,
} from "../protocols/openai_sip.ts";
import { realtimeModelOf } from "../agents/model_settings.ts";
import { recordUnknownAgent } from "../records/unknown_agents.ts";

/** How long a delivered `webhook-id` is remembered (OpenAI retries for up to 72 hours). */
const SEEN_FOR_MS = 73 * 60 * 60 * 1000;

/** SIP status codes of a rejected call. */
export const SIP_BUSY = 486;
export const SIP_UNAVAILABLE = 503;
export const SIP_DECLINE = 603;

/** An incoming call the service dealt with, for logs, tests and (later) its sideband. */
export interface SipOutcome {
  surface: "live" | "realtime";
  id: string;
  agent: string;
  outcome: "accepted" | "rejected" | "ignored" | "failed";
  statusCode?: number;
}

/** What the webhook uses of the service. */
export interface SipWebhookDeps {
  /** Built with the webhook secret; null without `OPENAI_API_KEY` (nothing can be answered). */
  client: OpenAI | null;
  openai:
    & Pick<Config["openai"], "webhookSecret" | "liveModel" | "realtimeModel" | "model">
    & Pick<Config["openai"], "voice" | "voiceEngine" | "sipTrunkAgents" | "transcriptionModel">;
  kv: Deno.Kv;
  log: Logger;
  admission: AdmissionState;
  limitHits: Map<string, number>;
  callTokens: Pick<CallTokens, "verify">;
  profiles: Pick<ProfileStore, "knows" | "status">;
  resolveContext(start: CallStart): Promise<CallContext>;
  /** Each call dealt with, once its accept or reject has answered. */
  handled?(outcome: SipOutcome): void;
  /** An accepted call: its sideband opens (see `sip_call.ts`). */
  accepted?(surface: "live" | "realtime", id: string, context: CallContext): void;
}

/** What the route answers. */
export interface WebhookAnswer {
  status: number;
  body: string;
}

/** The project webhook's handler. */
export class SipWebhook {
  /** Calls being dealt with (so a drain or a test can wait for them). */
  readonly #pending = new Set<Promise<void>>();
  /** Calls admitted whose accept has not answered yet (not in the registry yet). */
  #admitting = 0;

  constructor(private readonly deps: SipWebhookDeps) {}

  /** Resolves once every call being dealt with has been. */
  async idle(): Promise<void> {
    while (this.#pending.size) await Promise.all([...this.#pending]);
  }

  /** Verifies and handles one delivery (`body` is the raw request body). */
  async handle(body: string, headers: Headers): Promise<WebhookAnswer> {
    const { deps } = this;
    const secret = deps.openai.webhookSecret;
    if (!secret || !deps.client) {
      const missing = secret ? "OPENAI_API_KEY" : "OPENAI_WEBHOOK_SECRET";
      deps.log.error("openai_webhook.not_configured", { missing });
      return { status: 503, body: `${missing} is not set` };
    }
    let event;
    try {
      event = await deps.client.webhooks.unwrap(body, headers, secret);
    } catch (err) {
      const signature = err instanceof InvalidWebhookSignatureError;
      deps.log.warn("openai_webhook.refused", {
        reason: signature ? errorMessage(err).slice(0, 120) : "not a webhook event",
      });
      return { status: 400, body: "invalid webhook" };
    }
    const id = headers.get("webhook-id") ?? event.id;
    if (!await this.#firstDelivery(id)) {
      deps.log.info("openai_webhook.duplicate", { type: event.type });
      return { status: 200, body: "duplicate" };
    }
    const meaning = sipWebhookEvent(event);
    if (meaning.kind === "other") {
      deps.log.debug("openai_webhook.ignored", { type: meaning.type });
      return { status: 200, body: "ignored" };
    }
    // Answered now; the accept (or reject) follows on its own.
    const work = this.#answer(meaning.surface, meaning.id, meaning.data)
      .catch((err) => deps.log.error("sip.answer_failed", { error: errorMessage(err) }))
      .finally(() => this.#pending.delete(work));
    this.#pending.add(work);
    return { status: 200, body: "ok" };
  }

  /** True the first time `id` is seen (by any instance sharing the KV). */
  async #firstDelivery(id: string): Promise<boolean> {
    const key = ["openai_webhook", id];
    const result = await this.deps.kv.atomic()
      .check({ key, versionstamp: null })
      .set(key, Date.now(), { expireIn: SEEN_FOR_MS })
      .commit();
    return result.ok;
  }

  async #answer(surface: "live" | "realtime", id: string, sent: SipCallData): Promise<void> {
    const { deps } = this;
    // Without a call token the call did not come through our voice webhook (a trunk call, or
    // anyone who dials the project's SIP URI): our other headers are the caller's say-so.
    const data = sent.token ? sent : { ...sent, agent: "", callSid: "", reference: "" };
    const log = deps.log.child({ sip: surface, callSid: data.callSid || undefined });
    const agent = await this.#agentOf(data, log);
    const outcome = (o: Omit<SipOutcome, "surface" | "id" | "agent">) =>
      deps.handled?.({ surface, id, agent, ...o });
    const status = await deps.profiles.status(agent);
    const profile = status.profile;
    if (!profile) {
      // Its engine is unknown: the call is refused once, on the configured engine's surface.
      if (surface !== deps.openai.voiceEngine) return outcome({ outcome: "ignored" });
      log.warn("sip.agent_disabled", { agent });
      await this.#reject(surface, id, SIP_UNAVAILABLE);
      return outcome({ outcome: "rejected", statusCode: SIP_UNAVAILABLE });
    }
    if (voiceEngineOf(profile, deps.openai) !== surface) {
      // The same pending call's event on the agent's own surface is the one accepted (or
      // refused): this one neither takes a line nor rejects the call.
      log.debug("sip.other_surface", { agent });
      return outcome({ outcome: "ignored" });
    }
    // A call being accepted holds its line already: the registry counts it only once accepted.
    const { registry } = deps.admission;
    const refused = refuseCall({
      ...deps.admission,
      registry: { size: registry.size + this.#admitting },
    });
    if (refused) {
      limitHit({ limitHits: deps.limitHits, log }, refused, { route: "openai_webhook" });
      const code = refused === "draining" ? SIP_UNAVAILABLE : SIP_BUSY;
      await this.#reject(surface, id, code);
      return outcome({ outcome: "rejected", statusCode: code });
    }
    this.#admitting++;
    try {
      await this.#admit(surface, id, { data, agent, log, outcome });
    } finally {
      this.#admitting--;
    }
  }

  /** An admitted call on its agent's surface: its token checked, then accepted. */
  async #admit(
    surface: "live" | "realtime",
    id: string,
    call: {
      data: SipCallData;
      agent: string;
      log: Logger;
      outcome(o: Omit<SipOutcome, "surface" | "id" | "agent">): void;
    },
  ): Promise<void> {
    const { deps } = this;
    const { data, agent, log, outcome } = call;
    if (data.token && !await this.#tokenValid(data, agent)) {
      log.warn("sip.bad_token", { agent });
      await this.#reject(surface, id, SIP_DECLINE);
      return outcome({ outcome: "rejected", statusCode: SIP_DECLINE });
    }
    const context = await deps.resolveContext({
      callSid: data.callSid,
      from: data.from,
      to: data.to,
      direction: data.direction || "inbound",
      mode: "sip",
      customParameters: { agent, ...(data.reference ? { reference: data.reference } : {}) },
    });
    const session: SipSessionOptions = {
      model: surface === "live"
        ? deps.openai.liveModel
        : realtimeModelOf(context.profile, deps.openai).model,
      voice: context.profile.realtimeVoice ?? deps.openai.voice,
      instructions: context.instructions,
      tools: context.tools.declarations(),
      delegationModel: context.profile.model ?? deps.openai.model,
      // A Live session is recorded by OpenAI; a Realtime one by Twilio (see services.ts).
      store: surface === "live" && context.profile.record,
      // Realtime transcribes the caller only when asked (the transcript's caller lines).
      transcriptionModel: deps.openai.transcriptionModel,
    };
    try {
      if (surface === "live") await deps.client!.live.sessions.accept(id, liveAccept(session));
      else await deps.client!.realtime.calls.accept(id, realtimeAccept(session));
    } catch (err) {
      log.error("sip.accept_failed", { error: errorMessage(err) });
      // OpenAI will not deliver this event again: rejected, the caller is not left ringing (and
      // Twilio's <Dial action> can route the call elsewhere).
      await this.#reject(surface, id, SIP_UNAVAILABLE);
      return outcome({ outcome: "failed", statusCode: SIP_UNAVAILABLE });
    }
    log.info("sip.accepted", { agent, tools: session.tools.length });
    deps.accepted?.(surface, id, context);
    outcome({ outcome: "accepted" });
  }

  /**
   * The agent named by the call's headers; a trunk call (none) by its dialled number
   * (`SIP_TRUNK_AGENTS`); else, or when the name is not a profile, `default`.
   */
  async #agentOf(data: SipCallData, log: Logger): Promise<string> {
    const named = data.agent || this.deps.openai.sipTrunkAgents.get(data.to) || "";
    if (!named) return "default";
    if (await this.deps.profiles.knows(named)) return named;
    // Answered by `default`, and listed on /config as a misconfigured number.
    log.warn("sip.unknown_agent", { agent: named.slice(0, 64), trunk: !data.agent });
    await recordUnknownAgent(this.deps.kv, { agent: named, to: data.to, at: Date.now() });
    return "default";
  }

  async #tokenValid(data: SipCallData, agent: string): Promise<boolean> {
    return await this.deps.callTokens.verify(data.token, {
      callSid: data.callSid,
      from: data.from,
      to: data.to,
      agent,
      reference: data.reference,
    });
  }

  async #reject(surface: "live" | "realtime", id: string, code: number): Promise<void> {
    const client = this.deps.client!;
    try {
      if (surface === "live") await client.live.sessions.reject(id, { status_code: code });
      else await client.realtime.calls.reject(id, { status_code: code });
      this.deps.log.info("sip.rejected", { surface, statusCode: code });
    } catch (err) {
      this.deps.log.error("sip.reject_failed", { error: errorMessage(err) });
    }
  }
}
