/**
 * Writes one call's record as the call goes: the summary at once, then transcript turns, events
 * and latencies in small batches (at most `FLUSH_MS` apart), so a crash loses seconds at most.
 * A failed write is logged and retried with backoff; the call never waits for, or fails with,
 * its record.
 *
 * @module
 */

import type { Clock, TimerId } from "../platform/clock.ts";
import {
  type CallEventRecord,
  type CallModel,
  type CallRecord,
  type CallRecording,
  type CallStore,
  newCallRecord,
  type TranscriptTurn,
  type TurnLatency,
} from "./call_store.ts";
import { errorMessage, type Logger } from "../platform/log.ts";
import {
  addUsage,
  BUILTIN_PRICES,
  costUsd,
  NO_USAGE,
  type PriceTable,
  type TokenUsage,
} from "../platform/model_prices.ts";

/** Longest time a recorded item waits before it is written. */
export const FLUSH_MS = 1000;
const MAX_RETRY_MS = 30_000;

/** A transcript line as a session keeps it; the same object may be saved again as it changes. */
export interface TranscriptSource {
  role: "caller" | "agent";
  text: string;
  at: number;
  interrupted?: boolean;
  heardMs?: number;
}

/**
 * Told about every recorded call as it goes (metrics, the live-calls feed). Called synchronously
 * from the call's session: must be cheap; what it throws is caught and ignored.
 */
export interface CallObserver {
  opened?(record: Readonly<CallRecord>): void;
  event?(
    record: Readonly<CallRecord>,
    type: CallEventRecord["type"],
    data?: Readonly<Record<string, unknown>>,
  ): void;
  latency?(record: Readonly<CallRecord>, latency: TurnLatency): void;
  /** A transcript line saved, or saved again after it changed (same `seq`). */
  transcript?(record: Readonly<CallRecord>, turn: Readonly<TranscriptTurn>): void;
  /** Media Streams frames relayed by a realtime call (in from Twilio, out to Twilio). */
  frames?(record: Readonly<CallRecord>, framesIn: number, framesOut: number): void;
  ended?(record: Readonly<CallRecord>): void;
  /** The call ended and its record is all written (the after-call work starts here). */
  closed?(record: Readonly<CallRecord>): void;
}

/** Creates a recorder per call and flushes them all on shutdown. */
export class CallRecords {
  readonly #open = new Set<CallRecorder>();
  readonly #observers: CallObserver[] = [];

  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #prices: PriceTable;

  constructor(
    readonly store: CallStore,
    options: { clock: Clock; log: Logger; prices?: PriceTable },
  ) {
    this.#clock = options.clock;
    this.#log = options.log;
    this.#prices = options.prices ?? BUILTIN_PRICES;
  }

  /** Adds an observer of every call opened from now on. */
  observe(observer: CallObserver): void {
    this.#observers.push(observer);
  }

  /** Starts recording a call (its summary is written now). */
  open(fields: Parameters<typeof newCallRecord>[0]): CallRecorder {
    const recorder = new CallRecorder(this.store, newCallRecord(fields), {
      clock: this.#clock,
      log: this.#log.child({ callId: fields.id, callSid: fields.callSid ?? undefined }),
      prices: this.#prices,
      onClosed: (r) => {
        // A recorder may report its close twice (its last flush, then its end): tell once.
        if (this.#open.delete(r)) this.#closed(r.record);
      },
      observers: this.#observers,
    });
    this.#open.add(recorder);
    return recorder;
  }

  #closed(record: Readonly<CallRecord>): void {
    for (const observer of this.#observers) {
      try {
        observer.closed?.(record);
      } catch (err) {
        this.#log.warn("records.observer_failed", { error: errorMessage(err) });
      }
    }
  }

  /** Tags the open record of call `callSid` (once its context says what kind of call it is). */
  tag(callSid: string, tags: readonly string[]): void {
    for (const recorder of this.#open) {
      if (recorder.record.callSid === callSid) recorder.setTags(tags);
    }
  }

  /** The summaries of the calls this process is recording now (live, or ending). */
  openRecords(): Readonly<CallRecord>[] {
    return [...this.#open].map((r) => r.record);
  }

  /** Calls whose record is still being written. */
  get openCount(): number {
    return this.#open.size;
  }

  /** Writes everything still pending, for every open call (graceful shutdown). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.#open].map((r) => r.flush()));
  }

  /** Ends every open record with `outcome` (shutdown with calls still live) and writes them. */
  async endAll(outcome: string): Promise<void> {
    await Promise.all([...this.#open].map((r) => r.end(outcome)));
  }

  /** Flushes, then stops every recorder's timers (before KV is closed). */
  async close(): Promise<void> {
    await this.flushAll();
    for (const recorder of this.#open) recorder.stop();
    this.#open.clear();
  }
}

/** One call's writer. */
export class CallRecorder {
  readonly record: CallRecord;
  #seq = 0;
  #turnSeq = new WeakMap<TranscriptSource, number>();
  #transcript = new Map<number, TranscriptTurn>();
  #events: CallEventRecord[] = [];
  #latencies: TurnLatency[] = [];
  #latencyValues: number[] = [];
  #summaryDirty = true;
  #timer: TimerId | undefined;
  #writing: Promise<void> | null = null;
  #failures = 0;
  #ended = false;
  /** Every turn's tokens, by kind (the record keeps only the totals). */
  #usage: TokenUsage = NO_USAGE;

  constructor(
    private readonly store: CallStore,
    record: CallRecord,
    private readonly options: {
      clock: Clock;
      log: Logger;
      onClosed: (recorder: CallRecorder) => void;
      observers?: readonly CallObserver[];
      /** Model prices (the built-in table when unset). */
      prices?: PriceTable;
    },
  ) {
    this.record = record;
    // The summary now, so the call is visible from its first second.
    this.#flushAndRetry();
    this.#notify((o) => o.opened?.(this.record));
  }

  #notify(tell: (observer: CallObserver) => void): void {
    for (const observer of this.options.observers ?? []) {
      try {
        tell(observer);
      } catch (err) {
        this.options.log.warn("records.observer_failed", { error: errorMessage(err) });
      }
    }
  }

  /** The call's Twilio SID became known. */
  setCallSid(callSid: string): void {
    this.record.callSid = callSid;
    this.#dirty();
  }

  /** The call's recording is known (Twilio's come through `recordings.ts` instead). */
  setRecording(recording: CallRecording): void {
    this.record.recording = { ...recording };
    this.#dirty();
  }

  /** What kind of call this is besides a real one (`scenario`). */
  setTags(tags: readonly string[]): void {
    this.record.tags = [...tags];
    this.#dirty();
  }

  /** The call's agent is known: the model settings it runs with (and is priced by). */
  setModel(model: CallModel): void {
    this.record.model = { ...model };
    this.#price();
    this.#dirty();
  }

  #price(): void {
    const model = this.record.model?.model;
    this.record.costUsd = model
      ? costUsd(this.options.prices ?? BUILTIN_PRICES, model, this.#usage)
      : null;
  }

  /** Saves (or saves again, after it changed) a transcript line. */
  transcript(source: TranscriptSource): void {
    if (this.#ended) return;
    let seq = this.#turnSeq.get(source);
    if (seq === undefined) {
      seq = ++this.#seq;
      this.#turnSeq.set(source, seq);
      this.record.turns++;
    }
    const turn: TranscriptTurn = { seq, role: source.role, text: source.text, at: source.at };
    if (source.interrupted) {
      turn.interrupted = source.heardMs !== undefined
        ? { heardMs: source.heardMs }
        : { heardChars: source.text.length };
    }
    this.#transcript.set(seq, turn);
    this.#dirty();
    this.#notify((o) => o.transcript?.(this.record, turn));
  }

  /** Records an event for the timeline. */
  event(
    type: CallEventRecord["type"],
    summary: string,
    data?: Record<string, unknown>,
  ): void {
    if (this.#ended) return;
    this.#events.push({ seq: ++this.#seq, at: Date.now(), type, summary, data });
    if (type === "interrupt" || type === "barge_in") this.record.interruptions++;
    if (type === "tool") this.record.toolCalls++;
    if (type === "error") this.record.errors++;
    this.#dirty();
    this.#notify((o) => o.event?.(this.record, type, data));
  }

  /**
   * Records one assistant turn's latency and token usage (`usage` by kind, for the price; else
   * all text, none cached).
   */
  latency(
    turn: Omit<TurnLatency, "seq" | "at"> & { at?: number; usage?: Partial<TokenUsage> },
  ): void {
    if (this.#ended) return;
    const { usage, ...fields } = turn;
    const latency = { seq: ++this.#seq, at: turn.at ?? Date.now(), ...fields };
    this.#latencies.push(latency);
    const r = this.record;
    r.inputTokens += turn.inputTokens;
    r.outputTokens += turn.outputTokens;
    this.#usage = addUsage(
      this.#usage,
      usage ?? { input: turn.inputTokens, output: turn.outputTokens },
    );
    this.#price();
    if (turn.latencyMs !== null) {
      this.#latencyValues.push(turn.latencyMs);
      const sorted = [...this.#latencyValues].sort((a, b) => a - b);
      r.latencyP50Ms = Math.round(sorted[Math.floor((sorted.length - 1) / 2)]);
      r.latencyMaxMs = Math.round(sorted[sorted.length - 1]);
    }
    this.#dirty();
    this.#notify((o) => o.latency?.(this.record, latency));
  }

  /** Reports the Media Streams frames a realtime call relayed (metrics only, not stored). */
  frames(framesIn: number, framesOut: number): void {
    this.#notify((o) => o.frames?.(this.record, framesIn, framesOut));
  }

  /** The call ended: the summary gets its outcome and everything pending is written now. */
  async end(outcome: string, handoff: Record<string, unknown> | null = null): Promise<void> {
    if (this.#ended) return;
    this.record.endedAt = Date.now();
    this.record.outcome = outcome;
    this.record.handoff = handoff;
    this.#summaryDirty = true;
    this.#ended = true;
    this.options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#notify((o) => o.ended?.(this.record));
    await this.flush();
    // Still failing: keep retrying in the background until it lands (or the process stops).
    if (this.#pending) this.#schedule(this.#backoff());
    else this.options.onClosed(this);
  }

  get #pending(): boolean {
    return this.#summaryDirty || this.#transcript.size > 0 || this.#events.length > 0 ||
      this.#latencies.length > 0;
  }

  /** Stops retrying (the store is going away). */
  stop(): void {
    this.#ended = true;
    this.options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Writes what is pending now; resolves when written (or when this attempt failed). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (!this.#pending) return;
    const summary = this.#summaryDirty ? { ...this.record } : null;
    const items = {
      transcript: [...this.#transcript.values()],
      events: this.#events,
      latencies: this.#latencies,
    };
    this.#summaryDirty = false;
    this.#transcript = new Map();
    this.#events = [];
    this.#latencies = [];
    this.#writing = (async () => {
      try {
        await this.store.putItems(this.record.id, items);
        if (summary) await this.store.putRecord(summary);
        this.#failures = 0;
      } catch (err) {
        this.#failures++;
        // Put it back, without overwriting newer versions of the same turns.
        this.#summaryDirty ||= summary !== null;
        for (const turn of items.transcript) {
          if (!this.#transcript.has(turn.seq)) this.#transcript.set(turn.seq, turn);
        }
        this.#events.unshift(...items.events);
        this.#latencies.unshift(...items.latencies);
        if (this.#failures <= 3 || this.#failures % 20 === 0) {
          this.options.log.warn("records.write_failed", {
            error: errorMessage(err),
            failures: this.#failures,
          });
        }
      }
    })();
    await this.#writing;
    this.#writing = null;
    if (this.#ended && !this.#pending) this.options.onClosed(this);
  }

  #dirty(): void {
    this.#summaryDirty = true;
    if (this.#timer === undefined) this.#schedule(FLUSH_MS);
  }

  #backoff(): number {
    return Math.min(MAX_RETRY_MS, FLUSH_MS * 2 ** Math.min(this.#failures, 5));
  }

  #schedule(ms: number): void {
    this.options.clock.clearTimeout(this.#timer);
    this.#timer = this.options.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#flushAndRetry();
    }, ms);
  }

  #flushAndRetry(): void {
    this.flush().then(() => {
      if (this.#pending && this.#timer === undefined) this.#schedule(this.#backoff());
    });
  }
}
