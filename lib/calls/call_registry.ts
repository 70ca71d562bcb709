/**
 * The registry of live calls in this process: the one piece of shared mutable state, so health,
 * metrics and pages can see what is running and every session can be found and ended.
 *
 * @module
 */

/** What the registry knows of a live call. */
export interface LiveCall {
  readonly id: string;
  readonly mode: "relay" | "realtime" | "sip";
  readonly startedAt: number;
  callSid: string | null;
  /** Ends the call from the service side (drain, admin action). */
  end(reason: string): void;
}

/** Live calls by id; sessions add themselves on open and remove themselves on close. */
export class CallRegistry {
  readonly #calls = new Map<string, LiveCall>();
  #emptyWaiters: (() => void)[] = [];

  add(call: LiveCall): void {
    this.#calls.set(call.id, call);
  }

  remove(call: LiveCall): void {
    if (this.#calls.get(call.id) === call) this.#calls.delete(call.id);
    if (this.#calls.size === 0) { for (const wake of this.#emptyWaiters.splice(0)) wake(); }
  }

  /** Resolves once no call is live (at once if none is). */
  whenEmpty(): Promise<void> {
    if (this.#calls.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptyWaiters.push(resolve));
  }

  /**
   * A new socket for `callSid` (a reconnect, or Twilio running the TwiML again): the older live
   * call gives way. Returns the id of the call that was ended, if any.
   */
  supersede(callSid: string, newer: LiveCall): string | null {
    const older = this.findBySid(callSid, newer);
    if (!older) return null;
    older.end("superseded");
    return older.id;
  }

  /** The other live call with the same Twilio call SID, if any (a reconnect, or a duplicate). */
  findBySid(callSid: string, except: LiveCall): LiveCall | undefined {
    for (const call of this.#calls.values()) {
      if (call !== except && call.callSid === callSid) return call;
    }
    return undefined;
  }

  get size(): number {
    return this.#calls.size;
  }

  list(): LiveCall[] {
    return [...this.#calls.values()];
  }

  /** Number of live calls per mode. */
  countByMode(): Record<LiveCall["mode"], number> {
    const counts = { relay: 0, realtime: 0, sip: 0 };
    for (const call of this.#calls.values()) counts[call.mode]++;
    return counts;
  }
}
