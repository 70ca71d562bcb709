/**
 * `GET /favicon.ico` (public): the icon browsers and tools ask for at this fixed path, whatever
 * the page says. The pages link `static/favicon.svg` themselves; this answers the same SVG, so
 * no log or browser console shows a 404 for it.
 *
 * @module
 */

import type { Handler } from "hono";

/** Serves `static/favicon.svg`, read once at start-up, cacheable for a day. */
export function faviconHandler(): Handler {
  const svg = Deno.readFileSync(new URL("../static/favicon.svg", import.meta.url));
  return (c) =>
    c.body(svg, 200, {
      "content-type": "image/svg+xml",
      "cache-control": "public, max-age=86400",
    });
}
