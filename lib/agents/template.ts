/**
 * A tiny template language for agent instructions and greetings, over the call's data:
 * `{{name}}` inserts a value, `{{#name}}…{{/name}}` keeps its text only when the value is not
 * empty. Unknown names render as nothing, so a missing value never leaks template syntax to
 * the model.
 *
 * {@link templateCheck} finds what would render wrongly before a call does: a section that is
 * never closed, closed without being opened or nested (errors: the profile is refused), a `{{`
 * that forms no tag (an error), and a name that is neither a call variable
 * ({@link CALL_VARIABLES}) nor an outbound param the profile declares (a warning: the text
 * renders, but as nothing).
 *
 * @module
 */

const SECTION = /\{\{#\s*([\w.-]+)\s*\}\}([\s\S]*?)\{\{\/\s*\1\s*\}\}/g;
const VALUE = /\{\{\s*([\w.-]+)\s*\}\}/g;
/** Any tag: `{{name}}`, `{{#name}}`, `{{/name}}`, or a `{{` that forms none (no kind, no name). */
const TAG = /\{\{\s*([#/]?)\s*([\w.-]+)\s*\}\}|\{\{/g;

/** The variables every call has, whatever its direction. */
export const CALL_VARIABLES = ["from", "to", "callSid", "direction", "agent"] as const;

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

/** What {@link templateCheck} found: errors refuse the profile, warnings are shown. */
export interface TemplateCheck {
  errors: string[];
  warnings: string[];
}

/**
 * The errors and warnings of one template, each starting with `line N:` (1-based): `known` are
 * the names it may use (the call variables and the profile's declared outbound params).
 */
export function templateCheck(template: string, known: Iterable<string>): TemplateCheck {
  const names = new Set(known);
  const errors: string[] = [];
  const warnings: string[] = [];
  const lineOf = (index: number) => template.slice(0, index).split("\n").length;
  const open: { name: string; line: number }[] = [];
  const warned = new Set<string>();
  for (const match of template.matchAll(TAG)) {
    const line = lineOf(match.index);
    const [tag, kind, name] = match;
    if (name === undefined) {
      errors.push(`line ${line}: "{{" is not a {{name}}, {{#name}} or {{/name}} tag`);
      continue;
    }
    if (kind === "/") {
      const top = open.pop();
      if (!top) errors.push(`line ${line}: ${tag} closes a section that was never opened`);
      else if (top.name !== name) {
        errors.push(`line ${line}: ${tag} closes {{#${top.name}}} (opened on line ${top.line})`);
      }
      continue;
    }
    if (kind === "#") {
      const outer = open.at(-1);
      if (outer) {
        errors.push(
          `line ${line}: {{#${name}}} is inside {{#${outer.name}}} (line ${outer.line}): ` +
            "sections cannot be nested",
        );
      }
      open.push({ name, line });
    }
    if (!names.has(name) && !warned.has(name)) {
      warned.add(name);
      warnings.push(
        `line ${line}: {{${name}}} is not a call variable (${CALL_VARIABLES.join(", ")}) ` +
          `nor declared in agent.json's outboundParams, so it renders as nothing`,
      );
    }
  }
  for (const { name, line } of open) {
    errors.push(`line ${line}: {{#${name}}} is never closed with {{/${name}}}`);
  }
  return { errors, warnings };
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
