/**
 * Each call's tool calls as they finish, for the simulator page to show live: told by the call
 * recorder (the `tool` events it records), handed to the subscribers of that call's SID. Only
 * this process's calls: the page's event stream must reach the instance holding the socket.
 *
 * @module
 */

import type { CallObserver } from "./call_recorder.ts";
import type { CallEventRecord, CallRecord } from "./call_store.ts";

/** One finished tool call, as the simulator shows it. */
export interface ToolFeedItem {
  name: string;
  arguments: string;
  ok: boolean;
  output: string;
  durationMs: number;
}

/** What a subscriber is told: a finished tool call, or null when the feed closes (shutdown). */
export type ToolFeedListener = (item: ToolFeedItem | null) => void;

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
    if (type !== "tool" || !record.callSid || !data) return;
    const listeners = this.#listeners.get(record.callSid);
    if (!listeners) return;
    const item: ToolFeedItem = {
      name: String(data.name ?? ""),
      arguments: String(data.arguments ?? ""),
      ok: data.ok === true,
      output: String(data.output ?? ""),
      durationMs: Number(data.durationMs ?? 0),
    };
    for (const listener of listeners) listener(item);
  }
}
