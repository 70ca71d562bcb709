/**
 * Each call's tool calls as they finish, its transcript lines, its turns' latencies and its end,
 * for the simulator page to show live: told by the call recorder (the `tool` events, transcript
 * lines, latencies and the end it records), handed to the subscribers of that call's SID. The
 * text mode shows the tool calls (it knows the words); the voice mode all of it (a Media Stream
 * carries no words). Only this process's calls: a follower on another instance reads the call's
 * record instead ({@link storedFeed}, `call_follow.ts`).
 *
 * @module
 */

import type { CallObserver } from "./call_recorder.ts";
import type {
  CallDetail,
  CallEventRecord,
  CallRecord,
  TranscriptTurn,
  TurnLatency,
} from "./call_store.ts";

/** One finished tool call, as the simulator shows it. */
export interface ToolFeedItem {
  name: string;
  arguments: string;
  ok: boolean;
  output: string;
  durationMs: number;
}

/** One transcript line as the simulator shows it (sent again, same `seq`, when it changes). */
export interface TranscriptFeedItem {
  seq: number;
  role: "caller" | "agent";
  text: string;
  /** The caller cut the agent off: how much of it was heard. */
  heardMs?: number;
  interrupted: boolean;
}

/** What the feed carries, by kind (the name of its server-sent event). */
export type FeedItem =
  | { kind: "tool"; item: ToolFeedItem }
  | { kind: "transcript"; item: TranscriptFeedItem }
  | { kind: "latency"; item: { latencyMs: number | null; outcome: string } }
  /** The call's record ended, with why (`caller-hangup`, `upstream-failed`, …). */
  | { kind: "ended"; item: { outcome: string } };

/** What a subscriber is told: an item of its call, or null when the feed closes (shutdown). */
export type ToolFeedListener = (item: FeedItem | null) => void;

/** Tool calls by call SID, to whoever listens for that call. */
export class ToolFeed implements CallObserver {
  readonly #listeners = new Map<string, Set<ToolFeedListener>>();

  /** Listens to the tool calls of `callSid`; returns the removal. */
  subscribe(callSid: string, listener: ToolFeedListener): () => void {
    let set = this.#listeners.get(callSid);
    if (!set) this.#listeners.set(callSid, set = new Set());
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(callSid) === set) this.#listeners.delete(callSid);
    };
  }

  /** Tells every subscriber the feed is closing (before the server drains). */
  close(): void {
    for (const set of this.#listeners.values()) for (const listener of set) listener(null);
    this.#listeners.clear();
  }

  /** Subscribed calls now. */
  get size(): number {
    return this.#listeners.size;
  }

  event(
    record: Readonly<CallRecord>,
    type: CallEventRecord["type"],
    data?: Readonly<Record<string, unknown>>,
  ): void {
    if (type === "tool" && data) this.#tell(record, toolItem(data));
  }

  transcript(record: Readonly<CallRecord>, turn: Readonly<TranscriptTurn>): void {
    this.#tell(record, transcriptItem(turn));
  }

  latency(record: Readonly<CallRecord>, latency: TurnLatency): void {
    this.#tell(record, latencyItem(latency));
  }

  ended(record: Readonly<CallRecord>): void {
    this.#tell(record, endedItem(record));
  }

  #tell(record: Readonly<CallRecord>, item: FeedItem): void {
    const listeners = record.callSid ? this.#listeners.get(record.callSid) : undefined;
    if (!listeners) return;
    for (const listener of listeners) listener(item);
  }
}

/**
 * What the feed told of a call, rebuilt from its stored record: for a follower on another
 * instance than the call's, which sees the call only once its record has ended.
 */
export function storedFeed(detail: Readonly<CallDetail>): FeedItem[] {
  return [
    ...detail.transcript.map(transcriptItem),
    ...detail.events.flatMap((e) => e.type === "tool" && e.data ? [toolItem(e.data)] : []),
    ...detail.latencies.map(latencyItem),
    endedItem(detail.record),
  ];
}

function toolItem(data: Readonly<Record<string, unknown>>): FeedItem {
  const item: ToolFeedItem = {
    name: String(data.name ?? ""),
    arguments: String(data.arguments ?? ""),
    ok: data.ok === true,
    output: String(data.output ?? ""),
    durationMs: Number(data.durationMs ?? 0),
  };
  return { kind: "tool", item };
}

function transcriptItem(turn: Readonly<TranscriptTurn>): FeedItem {
  const { seq, role, text, interrupted } = turn;
  const item: TranscriptFeedItem = { seq, role, text, interrupted: interrupted !== undefined };
  if (interrupted?.heardMs !== undefined) item.heardMs = interrupted.heardMs;
  return { kind: "transcript", item };
}

function latencyItem(latency: Readonly<TurnLatency>): FeedItem {
  return { kind: "latency", item: { latencyMs: latency.latencyMs, outcome: latency.outcome } };
}

function endedItem(record: Readonly<CallRecord>): FeedItem {
  return { kind: "ended", item: { outcome: record.outcome } };
}
