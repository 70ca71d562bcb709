/**
 * Silence handling shared by both call paths: after the agent's turn has been heard, N seconds
 * without the caller → a reminder; after M reminders → the call ends as `unresponsive`.
 *
 * @module
 */

import type { SilenceSettings } from "../agents/agent_profile.ts";
import type { Clock, TimerId } from "../platform/clock.ts";

/** What the monitor asks its call to do. */
export interface SilenceActions {
  /** Say `text` as a reminder. */
  remind(text: string): void;
  /** Say `goodbye`, then end the call with reason `unresponsive`. */
  giveUp(goodbye: string): void;
}

/** Per-call silence timer; the call reports what happens and the monitor decides. */
export class SilenceMonitor {
  #timer: TimerId | undefined;
  #reminders = 0;
  #stopped = false;

  constructor(
    private readonly settings: SilenceSettings,
    private readonly clock: Clock,
    private readonly actions: SilenceActions,
  ) {}

  /** Reminders sent since the caller last spoke. */
  get reminders(): number {
    return this.#reminders;
  }

  /** The agent's turn has been heard in full: the caller's turn to speak starts now. */
  agentHeard(): void {
    if (this.#stopped || this.settings.reminderAfterSeconds <= 0) return;
    this.clock.clearTimeout(this.#timer);
    this.#timer = this.clock.setTimeout(
      () => this.#fire(),
      this.settings.reminderAfterSeconds * 1000,
    );
  }

  /** The agent started speaking (or is about to): not the caller's silence. */
  agentSpeaking(): void {
    this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The caller spoke or pressed a key. */
  callerActive(): void {
    this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#reminders = 0;
  }

  stop(): void {
    this.#stopped = true;
    this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    if (this.#reminders < this.settings.maxReminders) {
      this.#reminders++;
      this.actions.remind(this.settings.reminder);
    } else {
      this.stop();
      this.actions.giveUp(this.settings.goodbye);
    }
  }
}
