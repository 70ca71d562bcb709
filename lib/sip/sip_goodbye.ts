/**
 * When a SIP call's pending end (`end_call`, `transfer_to_human`) is carried out: once the agent's
 * goodbye has been said, that is once its audio has paused {@link GOODBYE_QUIET_MS}; or, when the
 * goodbye has yet to begin as the tool's output goes in, after up to {@link GOODBYE_ANSWER_MS}.
 * Only control events reach the service, so the agent's audio events are all it can go by.
 *
 * @module
 */

import type { Clock, TimerId } from "../platform/clock.ts";

/** The goodbye has been said once the agent's audio has paused this long. */
export const GOODBYE_QUIET_MS = 1500;
/**
 * How long an end waits for the goodbye to begin once the tool's output is in, when the agent has
 * not spoken since it was last asked to: a Live answer goes through its delegation first, which
 * can take longer than {@link GOODBYE_QUIET_MS}.
 */
export const GOODBYE_ANSWER_MS = 5000;

/** What ends the call once the goodbye has been said. */
export type PendingEnd = { reason: "agent-ended" } | {
  reason: "live-agent-handoff";
  number: string;
};

/** The end of one call that waits for its goodbye. */
export class PendingGoodbye {
  #end: PendingEnd | null = null;
  #timer: TimerId | undefined;

  /** `carryOut` runs once with the end, when its goodbye has been said. */
  constructor(
    private readonly clock: Clock,
    private readonly carryOut: (end: PendingEnd) => void,
  ) {}

  /** A tool asked for `end`: it waits for the tool's output to go in. */
  set(end: PendingEnd): void {
    this.#end = end;
  }

  /** The tool's outputs went in; `answerOwed`: the agent has not spoken since it was asked. */
  outputsIn(answerOwed: boolean): void {
    if (this.#end) this.#arm(answerOwed ? GOODBYE_ANSWER_MS : GOODBYE_QUIET_MS);
  }

  /** The agent's audio went out: the end waits for it to pause again. */
  agentAudio(): void {
    if (this.#end) this.#arm(GOODBYE_QUIET_MS);
  }

  /** The call is over: nothing more is carried out. */
  stop(): void {
    this.clock.clearTimeout(this.#timer);
    this.#end = null;
  }

  #arm(ms: number): void {
    this.clock.clearTimeout(this.#timer);
    this.#timer = this.clock.setTimeout(() => {
      // Armed only with an end, and cleared with it (stop): it is there when the timer fires.
      const end = this.#end!;
      this.#end = null;
      this.carryOut(end);
    }, ms);
  }
}
