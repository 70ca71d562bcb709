/**
 * `GET /`: live calls (updating through server-sent events) and recent calls with filters.
 *
 * @module
 */

import type { Handler } from "hono";
import { CallTable } from "../components/call_table.tsx";
import { Island } from "../components/island.tsx";
import { Layout } from "../components/layout.tsx";
import { renderPage } from "../components/render.ts";
import { LiveCalls } from "../islands/live_calls.tsx";
import {
  type CallFilterForm,
  filterQuery,
  parseCallFilter,
} from "../lib/admin/call_filter_query.ts";
import { CursorError } from "../lib/records/call_store.ts";
import type { Services } from "../lib/services.ts";

/** Outcomes offered in the filter (any other can still be typed in the query string). */
const OUTCOMES = [
  "live",
  "caller-hangup",
  "agent-ended",
  "live-agent-handoff",
  "unresponsive",
  "llm-unavailable",
  "setup-failed",
  "not-configured",
  "shutdown",
  "no-answer",
  "busy",
  "failed",
  "canceled",
  "completed",
];

/** Renders the dashboard. */
export function dashboardHandler(services: Services): Handler {
  return async (c) => {
    const { form, filter } = parseCallFilter(c.req.query());
    let page;
    try {
      page = await services.records.store.page(filter);
    } catch (err) {
      if (!(err instanceof CursorError)) throw err;
      page = await services.records.store.page({ ...filter, cursor: undefined });
    }
    const calls = page.calls;
    const live = { calls: await services.liveFeed.everywhere(), now: Date.now() };
    await services.profiles.syncCreated();
    return renderPage(
      c,
      <Layout title="Calls" active="/">
        <h1>Calls</h1>
        <Island name="live_calls" props={live}>
          <LiveCalls {...live} />
        </Island>
        <section>
          <h2>Recent calls</h2>
          <Filters
            form={form}
            agents={services.profiles.names()}
            results={resultLabels(services)}
          />
          <CallTable calls={calls} />
          <p class="paging">
            {filter.cursor ? <a href={`/${filterQuery(form)}`}>Newest calls</a> : null}
            {page.cursor
              ? (
                <a class="older" href={`/${filterQuery(form, { cursor: page.cursor })}`}>
                  Older calls →
                </a>
              )
              : null}
            <a class="export" href={`/calls.csv${filterQuery(form)}`}>Export CSV</a>
          </p>
        </section>
      </Layout>,
    );
  };
}

/** The analysis outcome labels of every agent's profile, each once. */
function resultLabels(services: Services): string[] {
  const labels = services.profiles.names().flatMap((name) =>
    services.profiles.get(name)?.analysis?.outcomes.map((o) => o.label) ?? []
  );
  return [...new Set(labels)];
}

function Filters(
  { form, agents, results }: { form: CallFilterForm; agents: string[]; results: string[] },
) {
  return (
    <form class="filters" method="get" action="/">
      <Choice label="Agent" name="agent" value={form.agent} options={agents} />
      <Choice label="Path" name="mode" value={form.mode} options={["relay", "realtime"]} />
      <Choice label="Outcome" name="outcome" value={form.outcome} options={OUTCOMES} />
      <Choice label="Result" name="result" value={form.result} options={results} />
      <label>
        From <input type="date" name="from" value={form.from} />
      </label>
      <label>
        To <input type="date" name="to" value={form.to} />
      </label>
      <label>
        Transcript contains <input type="search" name="q" value={form.q} />
      </label>
      <label>
        Calls
        <select name="tag">
          <option value="">real calls</option>
          <option value="scenario" selected={form.tag === "scenario"}>scenario runs</option>
          <option value="any" selected={form.tag === "any"}>both</option>
        </select>
      </label>
      <button type="submit">Filter</button>
    </form>
  );
}

/** A filter that is one of `options`, or any. */
function Choice(
  { label, name, value, options }: {
    label: string;
    name: string;
    value: string;
    options: string[];
  },
) {
  return (
    <label>
      {label}
      <select name={name}>
        <option value="">any</option>
        {options.map((o) => <option key={o} value={o} selected={value === o}>{o}</option>)}
      </select>
    </label>
  );
}
