/**
 * TwiML documents the service answers with, built with the `twilio` SDK.
 *
 * ConversationRelay attributes are typed by the SDK's `ConversationRelayAttributes` and emitted
 * as it names them, and per-call values travel as `<Parameter>`s, never in the socket URL.
 *
 * @module
 */

import twilio from "twilio";
import type { Config } from "../platform/config.ts";

/** A language the call may switch to (ConversationRelay `<Language>`). */
export interface ProfileLanguage {
  code: string;
  ttsProvider?: string;
  voice?: string;
  transcriptionProvider?: string;
  speechModel?: string;
}

/**
 * ConversationRelay options of one agent, named as in the twilio SDK's
 * `ConversationRelayAttributes` (which is how they reach the TwiML); unset = Twilio's default.
 */
export interface RelayOptions {
  /** Brief acknowledgments ("yeah", "uh-huh") do not interrupt the agent. */
  ignorebackchannel?: boolean;
  /** Background noise filtering before speech recognition. */
  backgroundnoisereduction?: boolean;
  /** Silence that ends the caller's turn: `auto` or a whole number, passed to Twilio as written. */
  speechtimeout?: string;
  /** How easily the caller's speech interrupts the agent (over `INTERRUPT_SENSITIVITY`). */
  interruptSensitivity?: "low" | "medium" | "high";
  /** Drafts of the caller's words before they finish (the session acts on the final prompt). */
  partialPrompts?: boolean;
  /** Words or phrases recognition should expect, comma-separated (over `STT_HINTS`). */
  hints?: string;
}

const { VoiceResponse } = twilio.twiml;

/** The twilio SDK's `ConversationRelayAttributes`: what `<ConversationRelay>` takes. */
type RelayAttributes = NonNullable<
  Parameters<ReturnType<InstanceType<typeof VoiceResponse>["connect"]>["conversationRelay"]>[0]
>;

/** What a ConversationRelay `<Connect>` needs beyond the configuration. */
export interface RelayTwimlOptions {
  /** `wss://…/twilio/relay`. */
  socketUrl: string;
  /** `https://…/twilio/relay/action`. */
  actionUrl: string;
  /** Sent to the socket in `setup.customParameters`. */
  parameters: Record<string, string>;
  /** Overrides the configured greeting ("" = none), e.g. after a reconnect. */
  welcomeGreeting?: string;
  /** Spoken with `<Say>` before the relay starts. */
  intro?: string;
  /** The agent's own language and voice, over the configured ones. */
  language?: string | null;
  ttsProvider?: string | null;
  voice?: string | null;
  /** Languages the session may switch to (`<Language>` children). */
  languages?: ProfileLanguage[];
  /** The agent's ConversationRelay options, over the configured ones. */
  options?: RelayOptions;
}

/** `<Connect action><ConversationRelay …><Parameter/></ConversationRelay></Connect>`. */
export function relayTwiml(relay: Config["relay"], options: RelayTwimlOptions): string {
  const response = new VoiceResponse();
  if (options.intro) response.say(options.intro);
  const connect = response.connect({ action: options.actionUrl, method: "POST" });
  const greeting = options.welcomeGreeting ?? relay.welcomeGreeting;
  const agent = options.options ?? {};
  const attributes: RelayAttributes = {
    url: options.socketUrl,
    language: options.language ?? relay.language,
    interruptible: relay.interruptible,
    dtmfDetection: relay.dtmfDetection,
    // agentSpeaking / clientSpeaking `info` messages: how the session knows its words were heard.
    events: "speaker-events",
  };
  if (greeting) {
    attributes.welcomeGreeting = greeting;
    attributes.welcomeGreetingInterruptible = relay.welcomeGreetingInterruptible;
  }
  const ttsProvider = options.ttsProvider ?? relay.ttsProvider;
  const voice = options.voice ?? relay.voice;
  if (ttsProvider) attributes.ttsProvider = ttsProvider;
  if (voice) attributes.voice = voice;
  if (relay.transcriptionProvider) attributes.transcriptionProvider = relay.transcriptionProvider;
  if (relay.speechModel) attributes.speechModel = relay.speechModel;
  const sensitivity = agent.interruptSensitivity ?? relay.interruptSensitivity;
  if (sensitivity) attributes.interruptSensitivity = sensitivity;
  const hints = agent.hints ?? relay.hints;
  if (hints) attributes.hints = hints;
  if (agent.ignorebackchannel !== undefined) {
    attributes.ignorebackchannel = String(agent.ignorebackchannel);
  }
  if (agent.backgroundnoisereduction !== undefined) {
    attributes.backgroundnoisereduction = String(agent.backgroundnoisereduction);
  }
  if (agent.speechtimeout !== undefined) attributes.speechtimeout = agent.speechtimeout;
  if (agent.partialPrompts !== undefined) attributes.partialPrompts = agent.partialPrompts;
  const element = connect.conversationRelay(attributes);
  for (const language of options.languages ?? []) {
    element.language(language as Parameters<typeof element.language>[0]);
  }
  for (const [name, value] of Object.entries(options.parameters)) {
    element.parameter({ name, value });
  }
  return response.toString();
}

/** `<Say>` a sentence, then hang up. */
export function sayAndHangUpTwiml(text: string): string {
  const response = new VoiceResponse();
  response.say(text);
  response.hangup();
  return response.toString();
}

/** `<Say>` an optional sentence, then `<Dial>` a number. */
export function dialTwiml(number: string, say?: string): string {
  const response = new VoiceResponse();
  if (say) response.say(say);
  response.dial(number);
  return response.toString();
}

/** An empty `<Response/>`: nothing more to do (the caller has hung up). */
export function emptyTwiml(): string {
  return new VoiceResponse().toString();
}

/** What a Media Streams `<Connect>` needs. */
export interface StreamTwimlOptions {
  /** `wss://…/twilio/stream` (no query string: Twilio rejects it). */
  socketUrl: string;
  /** `https://…/twilio/stream/action`: asked what follows once the service closes the stream. */
  actionUrl: string;
  /** Sent to the socket in `start.customParameters`. */
  parameters: Record<string, string>;
  /** Spoken with `<Say>` before the stream starts ("" = none). */
  intro: string;
}

/** `[<Say>intro]<Connect action><Stream url><Parameter/></Stream></Connect>`. */
export function streamTwiml(options: StreamTwimlOptions): string {
  const response = new VoiceResponse();
  if (options.intro) response.say(options.intro);
  const connect = response.connect({ action: options.actionUrl, method: "POST" });
  const stream = connect.stream({ url: options.socketUrl });
  for (const [name, value] of Object.entries(options.parameters)) {
    stream.parameter({ name, value });
  }
  return response.toString();
}

/** `<Hangup/>`: ends the call (replacing a live call's TwiML through the REST API). */
export function hangUpTwiml(): string {
  const response = new VoiceResponse();
  response.hangup();
  return response.toString();
}

/** OpenAI's SIP endpoint (TLS on 5061). */
export const OPENAI_SIP_HOST = "sip.api.openai.com";

/** The SIP URI of an OpenAI project: `sip:<proj_…>@sip.api.openai.com;transport=tls`. */
export function openAiSipUri(projectId: string): string {
  return `sip:${projectId}@${OPENAI_SIP_HOST};transport=tls`;
}

/**
 * `[<Say>intro]<Dial><Sip>uri?X-…=…&…</Sip></Dial>`: the call goes to `uri` with `headers` as
 * custom SIP headers of the INVITE (Twilio takes them from the URI's query; each name must start
 * with `X-`; empty ones are left out), and its audio never passes through the service.
 */
export function sipDialTwiml(
  uri: string,
  headers: Record<string, string>,
  options: { intro?: string; actionUrl?: string } = {},
): string {
  const response = new VoiceResponse();
  if (options.intro) response.say(options.intro);
  const query = Object.entries(headers)
    .filter(([, value]) => value !== "")
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join("&");
  const dial = response.dial(
    options.actionUrl ? { action: options.actionUrl, method: "POST" } : {},
  );
  dial.sip(query ? `${uri}?${query}` : uri);
  return response.toString();
}
