/**
 * The model's responses on one call, in order: which one is in progress, which were asked for
 * and not yet created, which were cancelled or cut and must be heard no more (muted), and the
 * latency and usage of each. Pure (times passed in), so the rules are tested exactly.
 *
 * The Realtime API runs one response at a time: a `response.create` while one is in progress
 * is refused. So a request made while one runs, or one that is cancelled before it is created,
 * must be told apart from the responses the caller should hear.
 *
 * @module
 */

import type { Usage } from "../protocols/openai_realtime.ts";

/** One model response, for call records. */
export interface RealtimeTurn {
  responseId: string;
  startedAt: number;
  /** Caller stopped speaking (or key press / greeting request) → first audio sent to Twilio. */
  latencyMs: number | null;
  status: string | null;
  usage: Usage | null;
}

/** The responses of one call. */
export class ResponseSequencer {
  readonly turns: RealtimeTurn[] = [];
  #active: string | null = null;
  /** `response.create`s sent whose `response.created` has not come yet, and how many were cancelled. */
  #requested = 0;
  #cancelled = 0;
  #muted = new Set<string>();
  #turn: RealtimeTurn | null = null;
  /** When the turn being answered began (monotonic ms), until its first audio. */
  #turnRef: number | null = null;
  /** The caller stopped speaking: the server's VAD owes a response. */
  #vadDue = false;

  /** The response in progress, if any. */
  get active(): string | null {
    return this.#active;
  }

  /** A response is in progress or on its way. */
  get busy(): boolean {
    return this.#active !== null || this.#requested > 0;
  }

  /** The model owes the call something (a response in progress, asked for, or due by VAD). */
  get owed(): boolean {
    return this.busy || this.#vadDue;
  }

  /** A turn began at `at` (monotonic): its latency runs to the first audio of the next response. */
  turnStarted(at: number): void {
    this.#turnRef = at;
  }

  /** The caller stopped speaking at `at`: the server's VAD will respond. */
  callerStopped(at: number): void {
    this.#vadDue = true;
    this.#turnRef = at;
  }

  /** A `response.create` is being sent; true when nothing was in progress or asked for before. */
  request(): boolean {
    const idle = !this.busy;
    this.#requested++;
    return idle;
  }

  /**
   * The server refused a request (one was already in progress). The server answers requests in
   * order and the cancelled ones are the oldest, so a refusal uses up a cancelled one first.
   */
  requestRefused(): void {
    if (this.#requested > 0) this.#requested--;
    if (this.#cancelled > 0) this.#cancelled--;
  }

  /** `response.created` at `at` (epoch ms): the turn it opens. */
  created(responseId: string, at: number): RealtimeTurn {
    this.#vadDue = false;
    if (this.#requested > 0) this.#requested--;
    if (this.#cancelled > 0) {
      this.#cancelled--;
      this.#muted.add(responseId);
    } else {
      this.#active = responseId;
    }
    const turn: RealtimeTurn = {
      responseId,
      startedAt: at,
      latencyMs: null,
      status: null,
      usage: null,
    };
    this.turns.push(turn);
    this.#turn = turn;
    return turn;
  }

  /** `response.done`: the turn it closes, if known. */
  done(responseId: string, status: string, usage: Usage | null): RealtimeTurn | undefined {
    if (this.#active === responseId) this.#active = null;
    this.#muted.delete(responseId);
    const turn = this.turns.findLast((t) => t.responseId === responseId);
    if (turn) {
      turn.status = status;
      turn.usage = usage;
    }
    if (this.#turn === turn) this.#turn = null;
    return turn;
  }

  /** Audio of `responseId` is going out at `at` (monotonic); sets its turn's latency once. */
  audio(responseId: string, at: number): void {
    const turn = this.#turn;
    if (!turn || turn.latencyMs !== null || turn.responseId !== responseId) return;
    turn.latencyMs = this.#turnRef === null ? null : Math.round((at - this.#turnRef) * 10) / 10;
    this.#turnRef = null;
  }

  /** Whether what `responseId` still sends must be dropped. */
  muted(responseId: string): boolean {
    return this.#muted.has(responseId);
  }

  /** Drops what `responseId` still sends (the caller cut it off). */
  mute(responseId: string): void {
    this.#muted.add(responseId);
  }

  /** The caller cut in: the response in progress (the server cancels it) is heard no more. */
  muteActive(): void {
    if (this.#active) this.#muted.add(this.#active);
  }

  /**
   * Cancels what is in progress or on its way (a key press needs a new answer); true when a
   * `response.cancel` must be sent.
   */
  cancel(): boolean {
    if (!this.busy) return false;
    this.muteActive();
    this.#active = null;
    this.#cancelled = this.#requested;
    return true;
  }

  /**
   * The upstream session was replaced: what it had in progress or on its way is gone. True when
   * the caller was owed an answer that had not begun (asked for, or due by VAD): the new session
   * must be asked for it.
   */
  abandon(): boolean {
    const unanswered = this.#active === null &&
      (this.#vadDue || this.#requested > this.#cancelled);
    this.muteActive();
    this.#active = null;
    this.#requested = 0;
    this.#cancelled = 0;
    this.#vadDue = false;
    return unanswered;
  }
}
