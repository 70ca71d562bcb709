/**
 * What tools may do to a ConversationRelay call: press keys and switch languages through
 * Twilio's messages, or end the call (a goodbye, a hand-off) once the agent's last words have
 * been heard.
 *
 * @module
 */

import type { CallControls } from "../agents/tools.ts";
import type { RelayOutbound } from "../protocols/conversation_relay.ts";

/** What the tools of a relay call can ask of it. */
export interface RelayActions {
  /** End with `reason` (hand-off data in `extra`) once the agent has been heard. */
  endAfterHeard(reason: string, extra: Record<string, unknown>): void;
  /** Send a message to Twilio. */
  send(message: RelayOutbound): void;
}

/** The {@link CallControls} of a relay call. */
export function relayControls(actions: RelayActions): CallControls {
  return {
    endCall: (detail) => actions.endAfterHeard("agent-ended", detail ? { detail } : {}),
    transferToHuman: ({ number, summary }) =>
      actions.endAfterHeard("live-agent-handoff", { number, summary }),
    sendDigits: (digits) => actions.send({ type: "sendDigits", digits }),
    switchLanguage: (language) =>
      actions.send({ type: "language", ttsLanguage: language, transcriptionLanguage: language }),
  };
}
