/**
 * What tools may do to a SIP call ({@link CallControls}): end it or hand it to a person once the
 * goodbye has been said (the call carries the end out), and, on GPT-Live, press keys on it (one
 * `transport.dtmf.send` per key over the sideband, `w` waiting half a second on the call's clock)
 * and switch the language the agent speaks. Realtime's sideband has no command for key tones,
 * and the call's audio never reaches the service, so a Realtime SIP call cannot press keys.
 *
 * @module
 */

import type { CallControls } from "../agents/tools.ts";
import type { Clock } from "../platform/clock.ts";
import { commentary, sendDtmf } from "../protocols/openai_live.ts";
import type { PendingEnd } from "./sip_goodbye.ts";

/** How long a `w` in `send_dtmf`'s digits waits. */
export const DTMF_WAIT_MS = 500;

/** The call the controls act on. */
export interface SipControlsHost {
  readonly surface: "live" | "realtime";
  readonly clock: Clock;
  /** Aborted when the call ends. */
  readonly signal: AbortSignal;
  /** Sends a client event on the sideband; false when none is open. */
  send(frame: string): boolean;
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
    sendDigits: (digits) => {
      if (host.surface === "live") return pressKeys(host, digits);
      throw new Error("key tones are not available on a Realtime SIP call");
    },
    switchLanguage: (language) => {
      if (host.surface === "live") host.send(commentary(`From now on, speak ${language}.`));
      else throw new Error("switching language is not available on a SIP call");
    },
  };
}

/** Presses `digits` (0-9, `*`, `#`; `w` waits) one after another, until the call ends. */
async function pressKeys(host: SipControlsHost, digits: string): Promise<void> {
  for (const digit of digits) {
    if (host.signal.aborted) return;
    if (digit === "w") await wait(host, DTMF_WAIT_MS);
    else if (!host.send(sendDtmf(digit))) {
      throw new Error("the call's sideband is reopening: the keys were not all sent");
    }
  }
}

/** `ms` on the call's clock, or less if the call ends first. */
function wait(host: SipControlsHost, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      host.clock.clearTimeout(timer);
      host.signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = host.clock.setTimeout(done, ms);
    host.signal.addEventListener("abort", done);
  });
}
