/** The recent-calls table (server-only); phone numbers masked. */

import { type CallRecord, resultOf } from "../lib/records/call_store.ts";
import { maskPhone } from "../lib/platform/log.ts";
import { formatCost, formatDuration, formatMs, formatTime } from "./format.ts";

/** Recent calls, newest first, each linking to its page. */
export function CallTable({ calls }: { calls: CallRecord[] }) {
  if (calls.length === 0) return <p class="empty">No call matches.</p>;
  return (
    <table class="calls">
      <thead>
        <tr>
          <th>Started (UTC)</th>
          <th>Agent</th>
          <th>Path</th>
          <th>From</th>
          <th>Outcome</th>
          <th>Result</th>
          <th class="num">Length</th>
          <th class="num">Turns</th>
          <th class="num">Cut-ins</th>
          <th class="num">p50 latency</th>
          <th class="num">Cost</th>
        </tr>
      </thead>
      <tbody>
        {calls.map((call) => (
          <tr key={call.id} class="call" data-call-sid={call.callSid ?? ""}>
            <td>
              <a href={`/calls/${call.callSid ?? call.id}`}>{formatTime(call.startedAt)}</a>
            </td>
            <td>{call.agent}</td>
            <td>{call.mode}</td>
            <td>{maskPhone(call.from) || "—"}</td>
            <td>
              <span class={`outcome ${call.outcome === "live" ? "live" : ""}`}>
                {call.outcome}
              </span>
            </td>
            <td class="result">{resultOf(call) ?? "—"}</td>
            <td class="num">
              {formatDuration(call.endedAt === null ? null : call.endedAt - call.startedAt)}
            </td>
            <td class="num">{call.turns}</td>
            <td class="num">{call.interruptions}</td>
            <td class="num">{formatMs(call.latencyP50Ms)}</td>
            <td class="num">{formatCost(call.costUsd)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
