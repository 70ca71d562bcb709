/**
 * `GET /simulator/events/:sid`: the simulated call's tool calls, transcript lines and turn
 * latencies as server-sent events (`event: tool`, one per finished call; `event: transcript`,
 * a line again with the same `seq` when it changes; `event: latency`, one per agent turn;
 * `event: ended`, the call's outcome), so
 * the simulator shows them live without adding anything to what the call's socket carries
 * (ConversationRelay's or the Media Stream's). Ends when the client goes away. A call whose
 * socket landed on another instance sharing the KV is told at its end, from its record (see
 * `call_follow.ts`).
 *
 * @module
 */

import type { Handler } from "hono";
import { streamSSE } from "hono/streaming";
import { followCall } from "../../../lib/records/call_follow.ts";
import type { FeedItem } from "../../../lib/records/tool_feed.ts";
import type { Services } from "../../../lib/services.ts";
import { Wakeup } from "../../../lib/platform/wakeup.ts";

const KEEPALIVE_MS = 25_000;

/** Streams the tool calls, transcript and latencies of call `:sid` (a call SID) until the client leaves. */
export function simulatorEventsHandler(services: Services): Handler {
  return (c) => {
    const sid = c.req.param("sid") ?? "";
    if (!/^CA[0-9a-f]{32}$/.test(sid)) return c.json({ error: "not a call SID" }, 400);
    return streamSSE(c, async (stream) => {
      const pending: FeedItem[] = [];
      let open = true;
      const wakeup = new Wakeup();
      const { toolFeed, records, clock } = services;
      const unsubscribe = followCall({ toolFeed, store: records.store, clock }, sid, (item) => {
        if (item) pending.push(item);
        else open = false;
        wakeup.wake();
      });
      stream.onAbort(() => wakeup.wake());
      try {
        // Tells the page it is subscribed: tool calls from now on reach it.
        await stream.writeSSE({ event: "ready", data: sid });
        while (open && !stream.aborted) {
          const item = pending.shift();
          if (item) {
            await stream.writeSSE({ event: item.kind, data: JSON.stringify(item.item) });
            continue;
          }
          const keepalive = await wakeup.wait(KEEPALIVE_MS);
          if (keepalive && open && !stream.aborted) await stream.write(": keepalive\n\n");
        }
      } finally {
        unsubscribe();
      }
    });
  };
}
