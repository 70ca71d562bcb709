/**
 * Key presses coalesced into one caller turn: presses closer together than `DTMF_DEBOUNCE_MS`
 * are one turn (a flood of presses is not a flood of model requests), `#` or a full buffer
 * sends at once. Both call paths use it.
 *
 * @module
 */

import type { Clock, TimerId } from "../platform/clock.ts";

/** Key presses buffered at most before they are given to the model at once. */
export const MAX_DTMF_DIGITS = 32;

/** The buffered key presses of one call. */
export class DtmfBuffer {
  #keys = "";
  #timer: TimerId | undefined;

  /** `due` runs when the presses should be given to the model; it calls {@link take}. */
  constructor(
    private readonly clock: Clock,
    private readonly debounceMs: number,
    private readonly due: () => void,
  ) {}

  /** Whether presses are waiting. */
  get pending(): boolean {
    return this.#keys.length > 0;
  }

  /** A key was pressed (past {@link MAX_DTMF_DIGITS} waiting presses, it is dropped). */
  press(digit: string): void {
    if (this.#keys.length < MAX_DTMF_DIGITS) this.#keys += digit;
    this.clock.clearTimeout(this.#timer);
    if (digit === "#" || this.#keys.length >= MAX_DTMF_DIGITS) return this.due();
    this.#timer = this.clock.setTimeout(() => this.due(), this.debounceMs);
  }

  /** The waiting presses (cleared), or "" if none. */
  take(): string {
    this.clock.clearTimeout(this.#timer);
    const keys = this.#keys;
    this.#keys = "";
    return keys;
  }

  /** Stops the timer (the call ended). */
  stop(): void {
    this.clock.clearTimeout(this.#timer);
    this.#keys = "";
  }
}

/** How the model reads a caller's key presses. */
export function dtmfTurn(keys: string): string {
  return `[The caller pressed the keys: ${keys.split("").join(" ")}]`;
}

/** The call record's one-line note of a turn of key presses (how many, never which). */
export function dtmfSummary(keys: string): string {
  return `${keys.length} key${keys.length > 1 ? "s" : ""} pressed`;
}
