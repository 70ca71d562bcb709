/**
 * Puts a hydrated island on a page: the component rendered on the server, its props as JSON
 * and its bundle (`static/islands/<name>.js`, built by `deno task build`).
 */

import type { ComponentChildren } from "preact";

/** Props of {@link Island}. */
export interface IslandProps {
  name: string;
  /** The island component's props (JSON). */
  props: unknown;
  /** The island component, rendered with `props`. */
  children: ComponentChildren;
}

/** The island's server-rendered HTML, its props and its script. */
export function Island({ name, props, children }: IslandProps) {
  // `<` escaped so no value can close the script element.
  const json = JSON.stringify(props).replace(/</g, "\\u003c");
  return (
    <>
      <div data-island={name}>{children}</div>
      <script
        type="application/json"
        data-island-props={name}
        dangerouslySetInnerHTML={{ __html: json }}
      />
      <script type="module" src={`/static/islands/${name}.js`} />
    </>
  );
}
