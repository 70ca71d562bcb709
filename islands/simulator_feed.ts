/**
 * What both simulator islands read from a call's event stream (`/simulator/events/:sid`): a
 * tool call as one line of the conversation, and the moment the page is subscribed.
 *
 * @module
 */

import type { ToolFeedItem } from "../lib/records/tool_feed.ts";

/** A finished tool call, as the stream sends it (the server's own type). */
export type ToolItem = ToolFeedItem;

/** A tool call as one line: `name(arguments) → output · N ms`. */
export function toolText(item: ToolItem): string {
  return `${item.name}(${item.arguments}) → ${item.output} · ${item.durationMs} ms`;
}

/**
 * Resolves once `source` says it is subscribed (what the call does from then on reaches the
 * page), or when it fails: then it is closed and `failed` says so on the page.
 */
export function whenSubscribed(source: EventSource, failed: () => void): Promise<void> {
  return new Promise((resolve) => {
    source.addEventListener("ready", () => resolve(), { once: true });
    source.addEventListener("error", () => {
      source.close();
      failed();
      resolve();
    }, { once: true });
  });
}
