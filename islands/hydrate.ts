/** Client side of an island: hydrates the server-rendered HTML with the props beside it. */

import { type ComponentType, h, hydrate } from "preact";

/** Hydrates the island `name` on this page with `Component` (a no-op where it is absent). */
export function hydrateIsland<P extends object>(
  name: string,
  Component: ComponentType<P>,
): void {
  const root = document.querySelector(`[data-island="${name}"]`);
  const props = document.querySelector(`[data-island-props="${name}"]`);
  if (!root || !props) return;
  hydrate(h(Component, JSON.parse(props.textContent ?? "{}") as P), root);
}
