/**
 * The TwiML that puts a call on an agent — ConversationRelay or Media Streams — with every URL
 * derived from the public base URL and the agent's name, outbound reference and call token sent
 * to the socket as `<Parameter>`s.
 *
 * @module
 */

import { CALL_TOKEN_PARAMETER } from "./call_token.ts";
import type { VoiceMode } from "../platform/config.ts";
import { AGENT_UNAVAILABLE, NOT_CONFIGURED, RECONNECTING } from "./phrases.ts";
import type { ProfileStore } from "../agents/profile_store.ts";
import type { Config } from "../platform/config.ts";
import type { CallTokens } from "./call_token.ts";

/** What the TwiML of a call is made from. */
export interface TwimlSources {
  /** Null when no model is configured: callers hear an apology instead. */
  llm: unknown;
  config: Pick<Config, "voiceMode" | "realtimeIntro" | "relay"> & {
    openai: Pick<Config["openai"], "projectId">;
  };
  profiles: Pick<ProfileStore, "resolve">;
  callTokens: CallTokens;
}
import { callTemplateValues, renderTemplate } from "../agents/template.ts";
import {
  openAiSipUri,
  relayTwiml,
  sayAndHangUpTwiml,
  sipDialTwiml,
  streamTwiml,
} from "../protocols/twiml.ts";
import { SIP_HEADERS } from "../protocols/openai_sip.ts";
import { toWebSocketUrl } from "../platform/public_url.ts";

/** Options of {@link agentTwiml}. */
export interface AgentTwimlOptions {
  /** The public base URL (`https://host`). */
  base: string;
  agent: string;
  /** The call path; null = the profile's mode, else `VOICE_MODE`. */
  mode: VoiceMode | null;
  /** The call's data for the greeting template. */
  call: { callSid: string; from: string; to: string; direction: string };
  /** Outbound params (greeting template values too). */
  params?: Record<string, unknown>;
  /** Outbound call reference, sent to the socket. */
  reference?: string;
  /** How many times this call was already reconnected after a failure (relay). */
  reconnects?: number;
}

/**
 * TwiML connecting a call to `options.agent` (or an apology when OpenAI is not configured or the
 * agent is disabled), with the call's token among its `<Parameter>`s.
 */
export async function agentTwiml(
  services: TwimlSources,
  options: AgentTwimlOptions,
): Promise<string> {
  if (!services.llm) return sayAndHangUpTwiml(NOT_CONFIGURED);
  const { config } = services;
  const profile = services.profiles.resolve(options.agent);
  if (!profile) return sayAndHangUpTwiml(AGENT_UNAVAILABLE);
  const parameters: Record<string, string> = { agent: profile.name };
  if (options.reference) parameters.reference = options.reference;
  parameters[CALL_TOKEN_PARAMETER] = await services.callTokens.issue({
    callSid: options.call.callSid,
    from: options.call.from,
    to: options.call.to,
    agent: profile.name,
    reference: options.reference ?? "",
  });
  const mode = options.mode ?? profile.mode ?? config.voiceMode;
  if (mode === "sip") {
    // Twilio dials OpenAI itself: the call's data goes as SIP headers, back in the webhook.
    const projectId = config.openai.projectId;
    if (!projectId) return sayAndHangUpTwiml(NOT_CONFIGURED);
    const { call } = options;
    return sipDialTwiml(openAiSipUri(projectId), {
      [SIP_HEADERS.agent]: profile.name,
      [SIP_HEADERS.callSid]: call.callSid,
      [SIP_HEADERS.from]: call.from,
      [SIP_HEADERS.to]: call.to,
      [SIP_HEADERS.direction]: call.direction,
      [SIP_HEADERS.token]: parameters[CALL_TOKEN_PARAMETER],
      [SIP_HEADERS.reference]: options.reference ?? "",
    }, { intro: config.realtimeIntro });
  }
  const socketBase = toWebSocketUrl(options.base);
  if (mode === "realtime") {
    // Media Streams' `start` carries no caller data: send what the agent's template may use.
    if (options.call.from) parameters.from = options.call.from;
    if (options.call.to) parameters.to = options.call.to;
    parameters.direction = options.call.direction;
    return streamTwiml({
      socketUrl: `${socketBase}/twilio/stream`,
      actionUrl: `${options.base}/twilio/stream/action`,
      parameters,
      intro: config.realtimeIntro,
    });
  }
  const reconnects = options.reconnects ?? 0;
  if (reconnects) parameters.reconnect = String(reconnects);
  const values = callTemplateValues({ ...options.call, agent: profile.name }, options.params);
  // The action callback can reconnect the same agent (and outbound params) after a failure.
  const action = new URLSearchParams({ agent: profile.name });
  if (options.reference) action.set("reference", options.reference);
  if (reconnects) action.set("reconnects", String(reconnects));
  return relayTwiml(config.relay, {
    socketUrl: `${socketBase}/twilio/relay`,
    actionUrl: `${options.base}/twilio/relay/action?${action}`,
    parameters,
    // After a reconnect the caller is not greeted again.
    welcomeGreeting: reconnects
      ? ""
      : renderTemplate(profile.greeting ?? config.relay.welcomeGreeting, values),
    intro: reconnects ? RECONNECTING : undefined,
    language: profile.language,
    ttsProvider: profile.ttsProvider,
    voice: profile.voice,
    languages: profile.languages,
    options: profile.conversationRelay,
  });
}

/** The call fields of a Twilio webhook's form parameters. */
export function webhookCall(form: Record<string, string>): AgentTwimlOptions["call"] {
  return {
    callSid: form.CallSid ?? "",
    from: form.From ?? "",
    to: form.To ?? "",
    direction: form.Direction ?? "inbound",
  };
}
