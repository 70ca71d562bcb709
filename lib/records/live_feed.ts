/**
 * The live calls as a small event feed for the dashboard: subscribers get the list of live calls
 * whenever a call starts or ends (told by the call recorder), with phone numbers masked. With a
 * {@link Presence}, the list is every instance's: this one's from memory, the others' from their
 * presence entries in KV, followed while someone subscribes — by `kv.watch` where it sees other
 * processes' writes (Deno Deploy's KV), else by polling (a local KV file shared by processes,
 * `denokv`). Changes in the same tick are sent once, and an unchanged list is not sent again.
 *
 * @module
 */

import type { CallObserver, CallRecords } from "./call_recorder.ts";
import type { CallMode } from "./call_store.ts";
import { maskPhone } from "../platform/log.ts";
import { type LiveCallView, type Presence, PRESENCE_CHANGED } from "./presence.ts";

/** What the feed reads of a live call (the registry's entries have it). */
export interface LiveCallSource {
  readonly id: string;
  readonly mode: CallMode;
  readonly startedAt: number;
  readonly callSid: string | null;
}

/** What a subscriber is told. */
export interface LiveFeedListener {
  update(calls: LiveCallView[]): void;
  /** The feed is closing (shutdown): end the stream. */
  close(): void;
}

/** Options of {@link LiveFeed}. */
export interface LiveFeedOptions {
  /** This instance's id (on each of its calls). */
  instance?: string;
  /** Every instance's calls: without it the feed lists this instance's only. */
  presence?: Pick<Presence, "instance" | "calls" | "changed"> | null;
  kv?: Deno.Kv;
  /** How other instances' changes are learnt. */
  updates?: "watch" | "poll";
  /** Polling period; with `watch`, how often expired entries are looked for. */
  pollMs?: number;
}

/** Live calls from the registry, joined with their records' agent and caller. */
export class LiveFeed implements CallObserver {
  readonly #listeners = new Set<LiveFeedListener>();
  readonly #options: LiveFeedOptions;
  #scheduled = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #watch: AbortController | null = null;
  #refreshing: Promise<void> | null = null;
  #again = false;
  #last = "";

  constructor(
    private readonly registry: { list(): LiveCallSource[] },
    private readonly records: CallRecords,
    options: LiveFeedOptions = {},
  ) {
    this.#options = options;
  }

  /** This instance's live calls now, oldest first. */
  snapshot(): LiveCallView[] {
    const records = new Map(this.records.openRecords().map((r) => [r.id, r]));
    const instance = this.#options.instance ?? "local";
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
          instance,
          lastActivity: call.startedAt,
        };
      })
      .sort((a, b) => a.startedAt - b.startedAt);
  }

  /** Every instance's live calls now (this one's from memory), oldest first. */
  async everywhere(): Promise<LiveCallView[]> {
    const local = this.snapshot();
    const presence = this.#options.presence;
    if (!presence) return local;
    const others = (await presence.calls())
      .filter((c) => c.instance !== presence.instance)
      .map(({ expiresAt: _, ...view }) => view);
    return [...local, ...others].sort((a, b) =>
      a.startedAt - b.startedAt || a.id.localeCompare(b.id)
    );
  }

  /** Adds a listener; returns its removal. */
  subscribe(listener: LiveFeedListener): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#follow();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#unfollow();
    };
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
    this.#unfollow();
  }

  #changed(): void {
    this.#options.presence?.changed();
    if (this.#scheduled || this.#listeners.size === 0) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (this.#options.presence) {
        this.#refresh();
        return;
      }
      this.#send(this.snapshot());
    });
  }

  /** Follows the other instances while someone listens. */
  #follow(): void {
    const { presence, kv, updates = "poll", pollMs = 1000 } = this.#options;
    if (!presence) return;
    this.#timer = setInterval(() => this.#refresh(), pollMs);
    if (updates === "watch" && kv) {
      const stop = new AbortController();
      this.#watch = stop;
      kv.watch([PRESENCE_CHANGED])
        .pipeTo(new WritableStream({ write: () => this.#refresh() }), { signal: stop.signal })
        .catch(() => {});
    }
  }

  #unfollow(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watch?.abort();
    this.#watch = null;
  }

  #refresh(): void {
    if (this.#refreshing) {
      this.#again = true;
      return;
    }
    this.#refreshing = (async () => {
      do {
        this.#again = false;
        try {
          this.#send(await this.everywhere());
        } catch {
          // KV unreachable for a moment: the next tick tries again.
        }
      } while (this.#again && this.#listeners.size > 0);
    })().finally(() => this.#refreshing = null);
  }

  #send(calls: LiveCallView[]): void {
    const text = JSON.stringify(calls);
    if (text === this.#last) return;
    this.#last = text;
    for (const listener of this.#listeners) listener.update(calls);
  }
}
