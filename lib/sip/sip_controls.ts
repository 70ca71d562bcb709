/**
 * What tools may do to a SIP call ({@link CallControls}): end it or hand it to a person once the
 * goodbye has been said (the call carries the end out), and, on GPT-Live, switch the language
 * the agent speaks. Its audio never reaches the service, so it cannot play key tones into it.
 *
 * @module
 */

import type { CallControls } from "../agents/tools.ts";
import { commentary } from "../protocols/openai_live.ts";
import type { PendingEnd } from "./sip_goodbye.ts";

/** The call the controls act on. */
export interface SipControlsHost {
  readonly surface: "live" | "realtime";
  /** Sends a client event on the sideband. */
  send(frame: string): void;
  /** The call ends this way once the goodbye has been said. */
  endAfterGoodbye(end: PendingEnd): void;
}

/** The controls of one SIP call, over `host`. */
export function sipControls(host: SipControlsHost): CallControls {
  return {
    endCall: () => host.endAfterGoodbye({ reason: "agent-ended" }),
    transferToHuman: ({ number }) => {
      if (!number) throw new Error("no number to transfer to");
      host.endAfterGoodbye({ reason: "live-agent-handoff", number });
    },
    sendDigits: () => {
      throw new Error("key tones are not available on a SIP call");
    },
    switchLanguage: (language) => {
      if (host.surface === "live") host.send(commentary(`From now on, speak ${language}.`));
      else throw new Error("switching language is not available on a SIP call");
    },
  };
}
