/**
 * A tiny template language for agent instructions and greetings, over the call's data:
 * `{{name}}` inserts a value, `{{#name}}…{{/name}}` keeps its text only when the value is not
 * empty. Unknown names render as nothing, so a missing value never leaks template syntax to
 * the model.
 *
 * @module
 */

const SECTION = /\{\{#\s*([\w.-]+)\s*\}\}([\s\S]*?)\{\{\/\s*\1\s*\}\}/g;
const VALUE = /\{\{\s*([\w.-]+)\s*\}\}/g;

/** Renders `template` with `values`. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template
    .replace(SECTION, (_, name: string, body: string) => (lookup(values, name) ? body : ""))
    .replace(VALUE, (_, name: string) => lookup(values, name));
}

/** Own values only: `{{constructor}}` must not render `Object.prototype`'s function. */
function lookup(values: Record<string, string>, name: string): string {
  return Object.hasOwn(values, name) ? values[name] : "";
}

/** The template values of a call: its own fields win over outbound `params` of the same name. */
export function callTemplateValues(
  call: { from: string; to: string; callSid: string; direction: string; agent: string },
  params: Record<string, unknown> = {},
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined) continue;
    values[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  // Only the call's own fields: callers may pass a wider object (e.g. with `params`).
  const { from, to, callSid, direction, agent } = call;
  return { ...values, from, to, callSid, direction, agent };
}
