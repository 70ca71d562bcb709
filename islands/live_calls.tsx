/**
 * Island: the live calls of every instance sharing the KV, kept current by the server-sent events
 * of `/live/events` (a call appears when it starts and goes when it ends), durations ticking.
 */

import { useEffect, useState } from "preact/hooks";
import type { LiveCallView } from "../lib/records/presence.ts";
import { hydrateIsland } from "./hydrate.ts";

/** Props of {@link LiveCalls}. */
export interface LiveCallsProps {
  calls: LiveCallView[];
  /** Server time of the render, so the first client render matches it. */
  now: number;
}

/** The live-calls table. */
export function LiveCalls(props: LiveCallsProps) {
  const [calls, setCalls] = useState(props.calls);
  const [now, setNow] = useState(props.now);
  const [feed, setFeed] = useState<"connecting" | "live" | "lost">("connecting");
  useEffect(() => {
    const source = new EventSource("/live/events");
    source.addEventListener("calls", (ev) => {
      setCalls(JSON.parse((ev as MessageEvent).data));
      setNow(Date.now());
    });
    source.addEventListener("open", () => setFeed("live"));
    source.addEventListener("error", () => setFeed("lost"));
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      source.close();
      clearInterval(tick);
    };
  }, []);
  return (
    <section class="live" data-feed={feed}>
      <h2>
        Live calls <span class="count">{calls.length}</span>
        <span class={`feed feed-${feed}`}>{feed === "live" ? "● live" : feed}</span>
      </h2>
      {calls.length === 0 ? <p class="empty">No call in progress.</p> : (
        <table>
          <thead>
            <tr>
              <th>Agent</th>
              <th>Path</th>
              <th>From</th>
              <th>Duration</th>
              <th>Instance</th>
              <th>Call</th>
            </tr>
          </thead>
          <tbody>
            {calls.map((call) => (
              <tr
                class="live-call"
                data-call-sid={call.callSid ?? ""}
                data-instance={call.instance}
                key={call.id}
              >
                <td>{call.agent ?? "…"}</td>
                <td>{call.mode}</td>
                <td>{call.from || "—"}</td>
                <td>{duration(now - call.startedAt)}</td>
                <td class="instance">{call.instance}</td>
                <td>
                  <a href={`/calls/${call.callSid ?? call.id}`}>{call.callSid ?? "starting"}</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

if (typeof document !== "undefined") hydrateIsland("live_calls", LiveCalls);
