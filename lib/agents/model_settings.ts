/**
 * The model settings a call runs with: the agent profile's own (`model`, `api`,
 * `realtimeModel`, `temperature`, `maxOutputTokens`), else the configuration's defaults
 * (`OPENAI_MODEL`, `OPENAI_API`, `OPENAI_REALTIME_MODEL`; no temperature or token limit).
 *
 * @module
 */

import type { Config, OpenAiApi, VoiceEngine } from "../platform/config.ts";
import type { AgentProfile } from "./agent_profile.ts";

/** What one relay request is made with. */
export interface TextModel {
  model: string;
  api: OpenAiApi;
  /** null = the API's default (not sent). */
  temperature: number | null;
  /** Longest reply in tokens; "inf" or null = the model's maximum (not sent). */
  maxOutputTokens: number | "inf" | null;
}

/** What a Realtime session is opened and configured with. */
export interface RealtimeModel {
  model: string;
  /** null = the API's default, `inf` (not sent). */
  maxOutputTokens: number | "inf" | null;
}

/** The profile's model settings that it leaves out. */
type ModelSettings = Pick<
  AgentProfile,
  "model" | "api" | "realtimeModel" | "temperature" | "maxOutputTokens"
>;

/** The relay path's settings: the profile's, else the configured model and API. */
export function textModelOf(
  profile: ModelSettings,
  defaults: Pick<Config["openai"], "model" | "api">,
): TextModel {
  return {
    model: profile.model ?? defaults.model,
    api: profile.api ?? defaults.api,
    temperature: profile.temperature,
    maxOutputTokens: profile.maxOutputTokens,
  };
}

/** The realtime path's settings: the profile's, else the configured Realtime model. */
export function realtimeModelOf(
  profile: ModelSettings,
  defaults: Pick<Config["openai"], "realtimeModel">,
): RealtimeModel {
  return {
    model: profile.realtimeModel ?? defaults.realtimeModel,
    maxOutputTokens: profile.maxOutputTokens,
  };
}

/** The realtime path's voice API: the profile's `engine`, else `OPENAI_VOICE_ENGINE`. */
export function voiceEngineOf(
  profile: Pick<AgentProfile, "engine">,
  defaults: Pick<Config["openai"], "voiceEngine">,
): VoiceEngine {
  return profile.engine ?? defaults.voiceEngine;
}
