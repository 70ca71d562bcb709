/** The admin pages' frame: head, navigation and main area. Server-only. */

import type { ComponentChildren } from "preact";

/** Navigation entries (path, label). */
const NAV: [string, string][] = [
  ["/", "Calls"],
  ["/agents", "Agents"],
  ["/simulator", "Simulator"],
  ["/config", "Configuration"],
];

/** Props of {@link Layout}. */
export interface LayoutProps {
  title: string;
  /** The navigation entry to highlight. */
  active: string;
  children: ComponentChildren;
}

/** A whole admin page. */
export function Layout({ title, active, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Callbridge`}</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/static/admin.css" />
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/">Callbridge</a>
          <nav>
            {NAV.map(([href, label]) => (
              <a key={href} href={href} class={href === active ? "active" : undefined}>{label}</a>
            ))}
          </nav>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
