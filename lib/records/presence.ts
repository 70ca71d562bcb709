/**
 * Live calls seen by every instance sharing one Deno KV: each instance keeps a presence entry per
 * live call (agent, path, masked caller, started, last activity) and one for itself (version,
 * live-call count). Entries are written when a call starts or ends and renewed every third of
 * their life, never per frame; they expire, so a crashed instance's calls drop off on their own.
 *
 * KV keys:
 * - `["presence_call", callId]` → {@link PresenceCall}, `expireIn` the presence TTL
 * - `["presence_instance", instanceId]` → {@link InstanceSeen}, `expireIn` a minute
 * - `["presence_changed"]` → a stamp bumped when the set of calls changes (what a watch sees)
 *
 * @module
 */

import type { CallObserver } from "./call_recorder.ts";
import type { CallRecord } from "./call_store.ts";
import type { CallMode } from "./call_store.ts";
import { errorMessage, type Logger } from "../platform/log.ts";

/** A live call as the dashboard shows it, from whichever instance holds it. */
export interface LiveCallView {
  id: string;
  callSid: string | null;
  mode: CallMode;
  /** null until the call's first message named its agent. */
  agent: string | null;
  /** Masked. */
  from: string;
  startedAt: number;
  /** The instance whose socket the call is on. */
  instance: string;
  /** When the call last recorded something (a turn, an event). */
  lastActivity: number;
}

/** A call's presence entry: the view plus when it stops counting. */
export interface PresenceCall extends LiveCallView {
  expiresAt: number;
}

/** An instance as the others see it. */
export interface InstanceSeen {
  instance: string;
  version: string;
  liveCalls: number;
  startedAt: number;
  seenAt: number;
}

/** Options of {@link Presence}. */
export interface PresenceOptions {
  instance: string;
  version: string;
  /** Life of a call's entry; it is renewed every third of it. */
  ttlMs: number;
  /** Changes within this long are written together (a burst of calls starting: one write). */
  coalesceMs?: number;
  log?: Logger;
}

/** How long an instance entry counts as seen. */
export const INSTANCE_SEEN_MS = 60_000;
const CALLS = "presence_call";
const INSTANCES = "presence_instance";
/** The key a watch follows: bumped whenever some instance's set of calls changes. */
export const PRESENCE_CHANGED: Deno.KvKey = ["presence_changed"];
/** Changes within this long are written together. */
const COALESCE_MS = 250;
/** Mutations per atomic write (Deno KV allows 1000). */
const CHUNK = 400;

/** This instance's live calls in KV, and every instance's, read back. */
export class Presence implements CallObserver {
  readonly #kv: Deno.Kv;
  readonly #local: () => Omit<LiveCallView, "lastActivity">[];
  readonly #options: PresenceOptions;
  readonly #activity = new Map<string, number>();
  readonly #startedAt = Date.now();
  #written = new Map<string, string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #writing: Promise<void> | null = null;
  #pause: { timer: ReturnType<typeof setTimeout>; end: () => void } | null = null;
  #dirty = false;
  /** The next write renews every entry (else it writes only what changed). */
  #renew = true;
  #closed = false;

  /** `local` lists this instance's live calls (the live feed's snapshot). */
  constructor(
    kv: Deno.Kv,
    local: () => Omit<LiveCallView, "lastActivity">[],
    options: PresenceOptions,
  ) {
    this.#kv = kv;
    this.#local = local;
    this.#options = options;
  }

  /** This instance's id. */
  get instance(): string {
    return this.#options.instance;
  }

  /** Writes this instance's entry now and renews every entry every third of the TTL. */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const every = Math.max(100, Math.floor(this.#options.ttlMs / 3));
    const timer = setInterval(() => this.renew(), every);
    Deno.unrefTimer(timer);
    this.#timer = timer;
    this.renew();
  }

  opened(record: Readonly<CallRecord>): void {
    this.#activity.set(record.id, Date.now());
    this.#schedule();
  }

  event(record: Readonly<CallRecord>): void {
    this.#touch(record.id);
  }

  transcript(record: Readonly<CallRecord>): void {
    this.#touch(record.id);
  }

  ended(record: Readonly<CallRecord>): void {
    this.#activity.delete(record.id);
    this.#schedule();
  }

  /** The local calls changed (started, ended, named their agent): write what changed soon. */
  changed(): void {
    this.#schedule();
  }

  /** Writes every entry again soon, with a later expiry and last activity (the timer's job). */
  renew(): void {
    this.#schedule(true);
  }

  /** Every instance's live calls whose entries have not expired, oldest first. */
  async calls(): Promise<PresenceCall[]> {
    const now = Date.now();
    const out: PresenceCall[] = [];
    for await (const entry of this.#kv.list<PresenceCall>({ prefix: [CALLS] })) {
      // expireIn is best effort: an entry past its time no longer counts.
      if (entry.value.expiresAt > now) out.push(entry.value);
    }
    return out.sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
  }

  /** The instances seen in the last minute, this one first. */
  async instances(): Promise<InstanceSeen[]> {
    const since = Date.now() - INSTANCE_SEEN_MS;
    const out: InstanceSeen[] = [];
    for await (const entry of this.#kv.list<InstanceSeen>({ prefix: [INSTANCES] })) {
      if (entry.value.seenAt > since) out.push(entry.value);
    }
    const own = this.#options.instance;
    return out.sort((a, b) =>
      Number(b.instance === own) - Number(a.instance === own) ||
      a.instance.localeCompare(b.instance)
    );
  }

  /** Stops renewing, writes a change still pending at once, and waits for it (before KV closes). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#pause) {
      clearTimeout(this.#pause.timer);
      this.#pause.end();
    }
    await this.#writing;
  }

  #touch(id: string): void {
    if (this.#activity.has(id)) this.#activity.set(id, Date.now());
  }

  #schedule(renew = false): void {
    if (this.#closed) return;
    this.#dirty = true;
    if (renew) this.#renew = true;
    this.#writing ??= this.#flush().finally(() => this.#writing = null);
  }

  async #flush(): Promise<void> {
    // One write at a time; changes in the pause before it, or during it, are folded into one.
    while (this.#dirty && !this.#closed) {
      // A renewal (and the first write, at start) goes at once.
      if (!this.#renew) {
        await new Promise<void>((end) => {
          const timer = setTimeout(end, this.#options.coalesceMs ?? COALESCE_MS);
          this.#pause = { timer, end };
        });
        this.#pause = null;
      }
      // Closing cuts the pause short but not the write: a call that just ended leaves now
      // (the loop then stops, as nothing is scheduled once closed).
      this.#dirty = false;
      try {
        await this.#write();
      } catch (err) {
        this.#options.log?.warn("presence.write_failed", { error: errorMessage(err) });
      }
    }
  }

  /**
   * A call started or ended: its entry alone (and this instance's) is written; a renewal writes
   * every entry again with a later expiry.
   */
  async #write(): Promise<void> {
    const { instance, version, ttlMs } = this.#options;
    const now = Date.now();
    const renew = this.#renew;
    this.#renew = false;
    const calls = this.#local();
    const written = new Map(calls.map((c) => [c.id, `${c.agent}|${c.callSid}`]));
    const changed = written.size !== this.#written.size ||
      [...written].some(([id, shape]) => this.#written.get(id) !== shape);
    const mutations: ((op: Deno.AtomicOperation) => void)[] = [];
    for (const call of calls) {
      if (!renew && this.#written.get(call.id) === written.get(call.id)) continue;
      const entry: PresenceCall = {
        ...call,
        instance,
        lastActivity: this.#activity.get(call.id) ?? call.startedAt,
        expiresAt: now + ttlMs,
      };
      mutations.push((op) => op.set([CALLS, call.id], entry, { expireIn: ttlMs }));
    }
    for (const id of this.#written.keys()) {
      if (!written.has(id)) mutations.push((op) => op.delete([CALLS, id]));
    }
    const seen: InstanceSeen = {
      instance,
      version,
      liveCalls: calls.length,
      startedAt: this.#startedAt,
      seenAt: now,
    };
    mutations.push((op) => op.set([INSTANCES, instance], seen, { expireIn: INSTANCE_SEEN_MS }));
    if (changed) mutations.push((op) => op.set(PRESENCE_CHANGED, { instance, at: now }));
    try {
      for (let i = 0; i < mutations.length; i += CHUNK) {
        const op = this.#kv.atomic();
        for (const mutate of mutations.slice(i, i + CHUNK)) mutate(op);
        await op.commit();
      }
    } catch (err) {
      this.#renew = true; // write everything next time
      throw err;
    }
    this.#written = written;
  }
}
