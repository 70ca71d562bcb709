/**
 * What a new agent created from the admin pages starts from: a template (one per call path) or a
 * copy of an existing agent's running files. Names follow the folder rule (lower-case letters,
 * digits, `-`, `_`, at most 63) so a created agent could be exported to a folder as it is.
 *
 * @module
 */

import type { ProfileSource } from "./agent_profile.ts";

/** The files of a profile without its name. */
type ProfileFiles = Omit<ProfileSource, "name">;

/** A starting point for a new agent. */
export interface AgentTemplate {
  id: string;
  label: string;
  files: ProfileFiles;
}

const TOOLS = JSON.stringify(["end_call", "transfer_to_human"]);

/** The templates offered on `/agents`. */
export const AGENT_TEMPLATES: readonly AgentTemplate[] = [
  {
    id: "relay",
    label: "Text path (ConversationRelay)",
    files: {
      agentJson: `${
        JSON.stringify(
          {
            description: "New agent on the text path (ConversationRelay).",
            mode: "relay",
            greeting: "Hello! How can I help you today?",
          },
          null,
          2,
        )
      }\n`,
      instructions: "You are a helpful phone assistant. Keep answers short: the caller hears " +
        "them.\nWhen the caller is done, say goodbye and end the call.\n",
      toolsJson: `${TOOLS}\n`,
    },
  },
  {
    id: "realtime",
    label: "Speech to speech (Media Streams + Realtime)",
    files: {
      agentJson: `${
        JSON.stringify(
          { description: "New agent speaking directly (OpenAI Realtime).", mode: "realtime" },
          null,
          2,
        )
      }\n`,
      instructions: "You are a helpful phone assistant. Speak briefly and naturally.\nWhen the " +
        "caller is done, say goodbye and end the call.\n",
      toolsJson: `${TOOLS}\n`,
    },
  },
];

/** Agent names, as folder names: lower-case letters, digits, `-` and `_`, at most 63. */
export const AGENT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Why `name` cannot be a new agent's name, or null. */
export function agentNameProblem(name: string): string | null {
  if (!AGENT_NAME.test(name)) {
    return "the name must be lower-case letters, digits, - or _, starting with a letter or " +
      "digit, at most 63 characters";
  }
  return null;
}
