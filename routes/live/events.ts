/**
 * `GET /live/events`: every instance's live calls as server-sent events. Each change sends the whole list
 * (`event: calls`); a comment every 25 s keeps proxies from closing an idle stream.
 *
 * @module
 */

import type { Handler } from "hono";
import { streamSSE } from "hono/streaming";
import type { LiveCallView } from "../../lib/records/presence.ts";
import type { Services } from "../../lib/services.ts";
import { Wakeup } from "../../lib/platform/wakeup.ts";

const KEEPALIVE_MS = 25_000;

/** Streams the live calls until the client goes away or the feed closes. */
export function liveEventsHandler(services: Services): Handler {
  return (c) =>
    streamSSE(c, async (stream) => {
      let latest: LiveCallView[] | null = null;
      let updated = false;
      let open = true;
      const wakeup = new Wakeup();
      // Subscribed before the first read, so a change during it is not lost.
      const unsubscribe = services.liveFeed.subscribe({
        update(calls) {
          latest = calls;
          updated = true;
          wakeup.wake();
        },
        close() {
          open = false;
          wakeup.wake();
        },
      });
      stream.onAbort(() => {
        open = false;
        wakeup.wake();
      });
      try {
        const first = await services.liveFeed.everywhere();
        if (!updated) latest = first;
        while (open && !stream.aborted) {
          if (latest) {
            await stream.writeSSE({ event: "calls", data: JSON.stringify(latest) });
            latest = null;
            continue;
          }
          const keepalive = await wakeup.wait(KEEPALIVE_MS);
          if (keepalive && open) await stream.write(": keepalive\n\n");
        }
      } finally {
        unsubscribe();
      }
    });
}
