/**
 * Following one call's feed wherever its socket landed. Behind a load balancer (Deno Deploy,
 * replicas on one KV) the simulator's event stream, or a scenario run, may be served by another
 * instance than the one holding the call. So a follower listens to this process's
 * {@link ToolFeed}, and meanwhile looks for the call's record in the shared KV: once that record
 * has ended with no item of the call seen here, the call ran elsewhere, and its stored
 * transcript, tool calls, latencies and end are told instead ({@link storedFeed}). A call on this
 * instance is told live as before; one elsewhere, at its end.
 *
 * @module
 */

import type { Clock, TimerId } from "../platform/clock.ts";
import type { CallStore } from "./call_store.ts";
import { storedFeed, type ToolFeed, type ToolFeedListener } from "./tool_feed.ts";

/** How often the record of a call not seen here is looked for. */
const FOLLOW_POLL_MS = 500;

/** What a follower reads. */
export interface FollowDeps {
  toolFeed: Pick<ToolFeed, "subscribe">;
  store: Pick<CallStore, "findBySid" | "getDetail">;
  clock: Pick<Clock, "setTimeout" | "clearTimeout">;
}

/**
 * Tells `listener` the items of call `callSid` (a call SID), from this process's feed or, for a
 * call that ran on another instance, from its ended record; the last item is its end (or null:
 * this process's feed closed). Returns the stop.
 */
export function followCall(
  deps: FollowDeps,
  callSid: string,
  listener: ToolFeedListener,
  options: { pollMs?: number } = {},
): () => void {
  const pollMs = options.pollMs ?? FOLLOW_POLL_MS;
  let seenHere = false;
  let done = false;
  let timer: TimerId | undefined;
  const stop = () => {
    done = true;
    deps.clock.clearTimeout(timer);
    unsubscribe();
  };
  const unsubscribe = deps.toolFeed.subscribe(callSid, (item) => {
    if (done) return;
    if (item !== null) seenHere = true;
    if (item === null || item.kind === "ended") stop();
    listener(item);
  });
  const look = async () => {
    timer = undefined;
    // A call seen here is told by this process's feed, to its end.
    if (done || seenHere) return;
    try {
      const record = (await deps.store.findBySid(callSid)).at(-1);
      const detail = record?.endedAt != null ? await deps.store.getDetail(record.id) : null;
      if (detail && !done && !seenHere) {
        stop();
        for (const item of storedFeed(detail)) listener(item);
        return;
      }
    } catch {
      // KV unreachable for a moment: look again.
    }
    if (!done && !seenHere) timer = deps.clock.setTimeout(look, pollMs);
  };
  timer = deps.clock.setTimeout(look, pollMs);
  return stop;
}
