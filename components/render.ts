/** Renders a page component to a complete HTML response. */

import type { Context } from "hono";
import type { VNode } from "preact";
import { renderToString } from "preact-render-to-string";

/** `<!doctype html>` plus `page` rendered on the server. */
export function renderPage(
  c: Context,
  page: VNode,
  status: 200 | 400 | 404 | 409 | 422 = 200,
): Response {
  return c.html(`<!doctype html>${renderToString(page)}`, status);
}
