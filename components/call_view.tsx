/**
 * One call record in full (server-only): summary, the transcript as a conversation, the event
 * timeline, the latency chart, tool calls with arguments and results, usage and cost.
 */

import type { CallDetail, CallEventRecord } from "../lib/records/call_store.ts";
import { maskPhone } from "../lib/platform/log.ts";
import { formatCost, formatDuration, formatMs, formatTime } from "./format.ts";
import { LatencyChart } from "./latency_chart.tsx";

/** A whole record; `index` and `count` number the sessions of a reconnected call. */
export function CallView(
  { detail, index, count }: { detail: CallDetail; index: number; count: number },
) {
  const { record, transcript, events, latencies } = detail;
  const tools = events.filter((e) => e.type === "tool");
  return (
    <article class="call-record" id={`record-${record.id}`}>
      {count > 1 ? <h2>{`Session ${index + 1} of ${count}`}</h2> : null}
      <section>
        <dl class="facts">
          <dt>Call SID</dt>
          <dd>{record.callSid ?? "—"}</dd>
          <dt>Agent</dt>
          <dd>
            <a href={`/agents/${record.agent}`}>{record.agent}</a> on {record.mode}
          </dd>
          <dt>From → to</dt>
          <dd>
            {`${maskPhone(record.from) || "—"} → ${
              maskPhone(record.to) || "—"
            } (${record.direction})`}
          </dd>
          <dt>Started (UTC)</dt>
          <dd>{formatTime(record.startedAt)}</dd>
          <dt>Length</dt>
          <dd>
            {formatDuration(record.endedAt === null ? null : record.endedAt - record.startedAt)}
          </dd>
          <dt>Outcome</dt>
          <dd>
            <span class={`outcome ${record.outcome === "live" ? "live" : ""}`}>
              {record.outcome}
            </span>
            {record.handoff ? <pre>{JSON.stringify(record.handoff, null, 2)}</pre> : null}
          </dd>
        </dl>
      </section>
      <section>
        <h2>Transcript</h2>
        {transcript.length === 0
          ? <p class="empty">Nothing was said.</p>
          : (
            <ol class="conversation transcript">
              {transcript.map((turn) => (
                <li
                  key={turn.seq}
                  class={`line ${turn.role}${turn.interrupted ? " interrupted" : ""}`}
                >
                  <span class="meta">{`${turn.role} · ${formatTime(turn.at).slice(11)}`}</span>
                  {turn.text}
                  {turn.interrupted
                    ? (
                      <span class="tag">
                        {`interrupted${heard(turn.interrupted)}`}
                      </span>
                    )
                    : null}
                </li>
              ))}
            </ol>
          )}
      </section>
      <section>
        <h2>Turn latency</h2>
        <LatencyChart latencies={latencies} />
      </section>
      <section>
        <h2>Tool calls</h2>
        {tools.length === 0 ? <p class="empty">No tool was called.</p> : (
          <table class="tools">
            <thead>
              <tr>
                <th>Tool</th>
                <th>Arguments</th>
                <th>Result</th>
                <th class="num">Time</th>
              </tr>
            </thead>
            <tbody>
              {tools.map((e) => <ToolRow key={e.seq} event={e} />)}
            </tbody>
          </table>
        )}
      </section>
      <section>
        <h2>Timeline</h2>
        {events.length === 0 ? <p class="empty">No event.</p> : (
          <ol class="timeline">
            {events.map((e) => (
              <li key={e.seq}>
                <span class="at">{formatTime(e.at).slice(11)}</span>
                <span class={`type type-${e.type}`}>{e.type}</span>
                {e.summary}
              </li>
            ))}
          </ol>
        )}
      </section>
      <section>
        <h2>Usage</h2>
        <dl class="facts">
          <dt>Turns</dt>
          <dd>{record.turns}</dd>
          <dt>Interruptions</dt>
          <dd>{record.interruptions}</dd>
          <dt>Tool calls</dt>
          <dd>{record.toolCalls}</dd>
          <dt>Errors</dt>
          <dd>{record.errors}</dd>
          <dt>Latency p50 / max</dt>
          <dd>{`${formatMs(record.latencyP50Ms)} / ${formatMs(record.latencyMaxMs)}`}</dd>
          <dt>Model</dt>
          <dd class="model">{record.model?.model ?? "—"}</dd>
          <dt>API</dt>
          <dd class="api">
            {record.model?.api ?? (record.mode === "realtime" ? "realtime" : "—")}
          </dd>
          <dt>Temperature</dt>
          <dd class="temperature">{record.model?.temperature ?? "default"}</dd>
          <dt>Max output tokens</dt>
          <dd class="max-output-tokens">{record.model?.maxOutputTokens ?? "default"}</dd>
          <dt>Tokens in / out</dt>
          <dd>{`${record.inputTokens} / ${record.outputTokens}`}</dd>
          <dt>Estimated cost</dt>
          <dd class="cost">{formatCost(record.costUsd)}</dd>
        </dl>
      </section>
    </article>
  );
}

function ToolRow({ event }: { event: CallEventRecord }) {
  const data = event.data ?? {};
  return (
    <tr class={data.ok === false ? "bad" : undefined}>
      <td>{String(data.name ?? event.summary)}</td>
      <td>
        <pre>{pretty(data.arguments)}</pre>
      </td>
      <td>
        <pre>{pretty(data.output)}</pre>
      </td>
      <td class="num">{typeof data.durationMs === "number" ? formatMs(data.durationMs) : "—"}</td>
    </tr>
  );
}

function heard(cut: { heardChars?: number; heardMs?: number }): string {
  if (cut.heardMs !== undefined) return ` after ${cut.heardMs} ms heard`;
  if (cut.heardChars !== undefined) return ` after ${cut.heardChars} characters heard`;
  return "";
}

/** JSON text indented, other text as is. */
function pretty(value: unknown): string {
  if (typeof value !== "string") return value === undefined ? "" : JSON.stringify(value, null, 2);
  try {
    return JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return value;
  }
}
