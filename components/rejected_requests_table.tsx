/**
 * The `/config` section of recently refused `/twilio/*` requests (this instance's): when, what,
 * why, the URL the service expected and what to check — a mismatch is most often `PUBLIC_URL`.
 */

import type { RejectedRequest } from "../lib/admin/rejected_requests.ts";
import { formatTime } from "./format.ts";

/** The refused requests, newest first, or a line saying there were none. */
export function RejectedRequestsTable({ requests }: { requests: RejectedRequest[] }) {
  return (
    <section id="rejected-requests">
      <h2>Refused Twilio requests</h2>
      {requests.length === 0
        ? <p class="muted">None refused by this instance since it started.</p>
        : (
          <table>
            <thead>
              <tr>
                <th>When (UTC)</th>
                <th>Request</th>
                <th>Why</th>
                <th>Expected URL</th>
                <th>Check</th>
              </tr>
            </thead>
            <tbody>
              {requests.map((r, i) => (
                <tr key={i} class="rejected">
                  <td>{formatTime(r.at)}</td>
                  <td>
                    <code>{`${r.method} ${r.path}`}</code>
                  </td>
                  <td>{r.why}</td>
                  <td>{r.expectedUrl ? <code>{r.expectedUrl}</code> : "—"}</td>
                  <td>{r.hint ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      <p class="muted">
        Each instance lists the requests it refused itself, most recent first (at most 10).
      </p>
    </section>
  );
}
