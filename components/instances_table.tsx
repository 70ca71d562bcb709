/**
 * The `/config` section of the instances sharing this KV that were seen in the last minute: id,
 * version, live calls, when each started and was last seen. This instance is marked.
 *
 * @module
 */

import { formatTime } from "./format.ts";
import type { InstanceSeen } from "../lib/records/presence.ts";

/** The instances table; `own` is this instance's id. */
export function InstancesTable(props: { instances: InstanceSeen[]; own: string }) {
  return (
    <section data-section="instances">
      <h2>Instances</h2>
      <p class="muted">
        Every instance sharing this KV that was seen in the last minute. Calls, records, agent
        versions and these checks are shared; each instance's refused requests are its own.
      </p>
      <table>
        <thead>
          <tr>
            <th>Instance</th>
            <th>Version</th>
            <th>Live calls</th>
            <th>Started (UTC)</th>
            <th>Last seen (UTC)</th>
          </tr>
        </thead>
        <tbody>
          {props.instances.map((i) => (
            <tr key={i.instance} data-instance={i.instance}>
              <td>
                <code>{i.instance}</code>
                {i.instance === props.own ? <span class="muted">(this one)</span> : null}
              </td>
              <td>{i.version}</td>
              <td class="live-count">{String(i.liveCalls)}</td>
              <td>{formatTime(i.startedAt)}</td>
              <td>{formatTime(i.seenAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
