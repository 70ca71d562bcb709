/**
 * The live calls of this process as a small event feed for the dashboard: subscribers get the
 * list of live calls whenever a call starts or ends (told by the call recorder), with phone
 * numbers masked. Nothing polls; changes in the same tick are sent once.
 *
 * @module
 */

import type { CallObserver, CallRecords } from "./call_recorder.ts";
import type { CallMode } from "./call_store.ts";
import { maskPhone } from "../platform/log.ts";

/** What the feed reads of a live call (the registry's entries have it). */
export interface LiveCallSource {
  readonly id: string;
  readonly mode: CallMode;
  readonly startedAt: number;
  readonly callSid: string | null;
}

/** A live call as the dashboard shows it. */
export interface LiveCallView {
  id: string;
  callSid: string | null;
  mode: CallMode;
  /** null until the call's first message named its agent. */
  agent: string | null;
  /** Masked. */
  from: string;
  startedAt: number;
}

/** What a subscriber is told. */
export interface LiveFeedListener {
  update(calls: LiveCallView[]): void;
  /** The feed is closing (shutdown): end the stream. */
  close(): void;
}

/** Live calls from the registry, joined with their records' agent and caller. */
export class LiveFeed implements CallObserver {
  readonly #listeners = new Set<LiveFeedListener>();
  #scheduled = false;

  constructor(
    private readonly registry: { list(): LiveCallSource[] },
    private readonly records: CallRecords,
  ) {}

  /** The live calls now, oldest first. */
  snapshot(): LiveCallView[] {
    const records = new Map(this.records.openRecords().map((r) => [r.id, r]));
    return this.registry.list()
      .map((call): LiveCallView => {
        const record = records.get(call.id);
        return {
          id: call.id,
          callSid: call.callSid ?? record?.callSid ?? null,
          mode: call.mode,
          agent: record?.agent ?? null,
          from: maskPhone(record?.from),
          startedAt: call.startedAt,
        };
      })
      .sort((a, b) => a.startedAt - b.startedAt);
  }

  /** Adds a listener; returns its removal. */
  subscribe(listener: LiveFeedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Subscribers now. */
  get size(): number {
    return this.#listeners.size;
  }

  opened(): void {
    this.#changed();
  }

  ended(): void {
    this.#changed();
  }

  /** Ends every subscriber's stream (before the server drains). */
  close(): void {
    for (const listener of this.#listeners) listener.close();
    this.#listeners.clear();
  }

  #changed(): void {
    if (this.#scheduled || this.#listeners.size === 0) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      const calls = this.snapshot();
      for (const listener of this.#listeners) listener.update(calls);
    });
  }
}
