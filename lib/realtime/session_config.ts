/**
 * What a Realtime session starts with: `session.update` from the agent's profile (µ-law both
 * ways, its voice, turn detection, tools, the call's instructions) and, for a session that
 * replaces an expired or renewed one, the conversation so far as text items.
 *
 * @module
 */

import type { CallContext } from "../calls/call_context.ts";
import type { TranscriptEntry } from "../calls/call_types.ts";
import type { Config } from "../platform/config.ts";
import { sessionUpdate } from "../protocols/openai_realtime.ts";
import { reseedItems } from "./upstream_session.ts";
import { realtimeModelOf } from "../agents/model_settings.ts";

/** What the frames are made from. */
export interface SessionSources {
  context: CallContext;
  /** The session's instructions (the agent's, with any language switch). */
  instructions: string;
  openai: Config["openai"];
  transcript: readonly TranscriptEntry[];
}

/** The frames session number `session` starts with (the first has no conversation to re-seed). */
export function sessionFrames(session: number, sources: SessionSources): string[] {
  const { context, openai } = sources;
  const profile = context.profile;
  const settings = realtimeModelOf(profile, openai);
  const update = sessionUpdate({
    // The socket was opened for this model (a session's model cannot change; see conversation.ts).
    model: settings.model,
    maxOutputTokens: settings.maxOutputTokens,
    voice: profile.realtimeVoice ?? openai.voice,
    instructions: sources.instructions,
    turnDetection: profile.turnDetection ?? openai.turnDetection,
    transcriptionModel: openai.transcriptionModel,
    tools: context.tools.declarations(),
  });
  return session === 1 ? [update] : [update, ...reseedItems(sources.transcript)];
}
