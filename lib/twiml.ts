/**
 * TwiML documents the service answers with, built with the `twilio` SDK.
 *
 * ConversationRelay attribute names are emitted exactly as Twilio's docs spell them (the SDK's
 * types lower-case some), and per-call values travel as `<Parameter>`s, never in the socket URL.
 */

import twilio from "twilio";
import type { ProfileLanguage } from "./agent_profile.ts";
import type { Config } from "./config.ts";

const { VoiceResponse } = twilio.twiml;

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
}

/** `<Connect action><ConversationRelay …><Parameter/></ConversationRelay></Connect>`. */
export function relayTwiml(relay: Config["relay"], options: RelayTwimlOptions): string {
  const response = new VoiceResponse();
  if (options.intro) response.say(options.intro);
  const connect = response.connect({ action: options.actionUrl, method: "POST" });
  const greeting = options.welcomeGreeting ?? relay.welcomeGreeting;
  const attributes: Record<string, string> = {
    url: options.socketUrl,
    language: options.language ?? relay.language,
    interruptible: relay.interruptible,
    dtmfDetection: String(relay.dtmfDetection),
    // agentSpeaking on/off `info` messages: how the session knows its words were heard.
    debug: "speaker-events",
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
  if (relay.interruptSensitivity) attributes.interruptSensitivity = relay.interruptSensitivity;
  if (relay.hints) attributes.hints = relay.hints;
  // The SDK types some attributes as booleans; its output is the attribute text either way.
  const element = connect.conversationRelay(
    attributes as Parameters<typeof connect.conversationRelay>[0],
  );
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
  /** Sent to the socket in `start.customParameters`. */
  parameters: Record<string, string>;
  /** Spoken with `<Say>` before the stream starts ("" = none). */
  intro: string;
  /** Spoken with `<Say>` after the stream, i.e. only if it ends without a hang-up. */
  fallback: string;
}

/** `[<Say>intro]<Connect><Stream url><Parameter/></Stream></Connect><Say>fallback`. */
export function streamTwiml(options: StreamTwimlOptions): string {
  const response = new VoiceResponse();
  if (options.intro) response.say(options.intro);
  const stream = response.connect().stream({ url: options.socketUrl });
  for (const [name, value] of Object.entries(options.parameters)) {
    stream.parameter({ name, value });
  }
  if (options.fallback) response.say(options.fallback);
  return response.toString();
}

/** `<Hangup/>`: ends the call (replacing a live call's TwiML through the REST API). */
export function hangUpTwiml(): string {
  const response = new VoiceResponse();
  response.hangup();
  return response.toString();
}
