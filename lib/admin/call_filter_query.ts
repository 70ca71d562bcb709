/**
 * The dashboard's filter form as a {@link CallFilter}: agent, call path, outcome (end reason),
 * analysis result, a date range
 * (whole UTC days) and transcript search, with anything malformed ignored rather than failing.
 * Scenario runs (records tagged `scenario`) are left out unless `tag` asks for them
 * (`tag=scenario`: only them; `tag=any`: every call).
 *
 * @module
 */

import { type CallFilter, type CallMode, SCENARIO_TAG } from "../records/call_store.ts";

/** The form's values, as typed (to render the form back). */
export interface CallFilterForm {
  agent: string;
  mode: string;
  outcome: string;
  /** An analysis outcome label. */
  result: string;
  /** `YYYY-MM-DD` (UTC). */
  from: string;
  to: string;
  q: string;
  /** "" = real calls only, `scenario` = scenario runs only, `any` = both. */
  tag: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The form's filters as a query string (empty ones left out), for links to more pages. */
export function filterQuery(form: CallFilterForm, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...form, ...extra })) {
    if (value) params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** Reads the filter form (and a page's `cursor`) from a query string. */
export function parseCallFilter(
  query: Record<string, string | undefined>,
  options: { limit?: number } = {},
): { form: CallFilterForm; filter: CallFilter } {
  const form: CallFilterForm = {
    agent: clip(query.agent),
    mode: clip(query.mode),
    outcome: clip(query.outcome),
    result: clip(query.result),
    from: clip(query.from),
    to: clip(query.to),
    q: clip(query.q, 200),
    tag: query.tag === SCENARIO_TAG || query.tag === "any" ? query.tag : "",
  };
  const filter: CallFilter = { limit: options.limit ?? 50 };
  if (form.agent) filter.agent = form.agent;
  if (form.mode === "relay" || form.mode === "realtime") filter.mode = form.mode as CallMode;
  if (form.outcome) filter.outcome = form.outcome;
  if (form.result) filter.result = form.result;
  const from = day(form.from);
  const to = day(form.to);
  if (from !== null) filter.from = from;
  if (to !== null) filter.to = to + DAY_MS - 1;
  if (form.q) filter.search = form.q;
  if (form.tag === SCENARIO_TAG) filter.tag = SCENARIO_TAG;
  else if (form.tag === "") filter.withoutTag = SCENARIO_TAG;
  const cursor = clip(query.cursor, 1024);
  if (cursor) filter.cursor = cursor;
  return { form, filter };
}

function clip(value: string | undefined, max = 64): string {
  return (value ?? "").trim().slice(0, max);
}

function day(value: string): number | null {
  if (!DATE.test(value)) return null;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return Number.isFinite(ms) ? ms : null;
}
