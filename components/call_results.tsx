/**
 * What came after a call (server-only): its analysis (summary, outcome, extracted fields, or why
 * it failed) and its end-of-call webhook (delivered, retrying, or undelivered with a "send
 * again" button), and the button that deletes the call.
 *
 * @module
 */

import type { CallAnalysis, CallRecording } from "../lib/records/call_store.ts";
import type { WebhookState } from "../lib/records/call_webhook.ts";
import { formatTime } from "./format.ts";

/** The analysis of a call, or a line saying there is none (yet). */
export function AnalysisSection({ analysis }: { analysis: CallAnalysis | null | undefined }) {
  return (
    <section class="analysis">
      <h2>Analysis</h2>
      {!analysis
        ? <p class="empty">No analysis (the agent's profile asks for none, or it is on its way).</p>
        : analysis.status === "failed"
        ? (
          <p class="bad analysis-failed">
            {`The analysis failed (${formatTime(analysis.at)} UTC): ${analysis.error}`}
          </p>
        )
        : (
          <dl class="facts">
            <dt>Summary</dt>
            <dd class="analysis-summary">{analysis.summary}</dd>
            <dt>Outcome</dt>
            <dd>
              <span class="outcome analysis-outcome">{analysis.outcome ?? "—"}</span>
            </dd>
            <dt>Fields</dt>
            <dd>
              <pre class="analysis-fields">{JSON.stringify(analysis.fields, null, 2)}</pre>
            </dd>
            <dt>Model</dt>
            <dd>{analysis.model}</dd>
          </dl>
        )}
    </section>
  );
}

/** The end-of-call webhook of record `id`, when it has one. */
export function WebhookSection(
  { id, webhook }: { id: string; webhook: { state: WebhookState; undelivered: boolean } | null },
) {
  if (!webhook) return null;
  const { state, undelivered } = webhook;
  const status = state.status === "delivered"
    ? "delivered"
    : undelivered
    ? "undelivered"
    : "retrying";
  return (
    <section class="webhook">
      <h2>Webhook</h2>
      <dl class="facts">
        <dt>Receiver</dt>
        <dd>
          <code>{state.url}</code>
        </dd>
        <dt>Status</dt>
        <dd>
          <span class={`webhook-status ${status === "delivered" ? "" : "bad"}`}>{status}</span>
          {` after ${state.attempts} attempt${state.attempts === 1 ? "" : "s"}`}
        </dd>
        {state.lastError
          ? (
            <>
              <dt>Last error</dt>
              <dd class="webhook-error">{state.lastError}</dd>
            </>
          )
          : null}
      </dl>
      {undelivered
        ? (
          <form method="post" action={`/calls/${id}/webhook`}>
            <button type="submit" class="resend">Send again</button>
          </form>
        )
        : null}
    </section>
  );
}

/** The call page's delete button: it asks for a confirmation page first. */
export function DeleteSection({ keyOfCall }: { keyOfCall: string }) {
  return (
    <section class="delete">
      <h2>Delete</h2>
      <p class="hint">
        For a privacy request: deletes the records, transcript, analysis and the Twilio recording.
      </p>
      <form method="post" action={`/calls/${encodeURIComponent(keyOfCall)}/delete`}>
        <button type="submit" class="danger delete-call">Delete this call…</button>
      </form>
    </section>
  );
}

/** The call's recording: a player (the media comes through the service), or where it stands. */
export function RecordingSection(
  { keyOfCall, recording }: { keyOfCall: string; recording: CallRecording | null },
) {
  if (!recording) return null;
  const playable = recording.status === "completed";
  return (
    <section class="recording">
      <h2>Recording</h2>
      <p>
        <span class="recording-status">{recording.status}</span>
        {recording.durationSeconds !== null ? ` · ${recording.durationSeconds} s` : ""}
        {recording.channels !== null ? ` · ${recording.channels} channels` : ""}
      </p>
      {playable
        ? (
          <audio
            controls
            preload="metadata"
            src={`/calls/${encodeURIComponent(keyOfCall)}/recording`}
          />
        )
        : null}
    </section>
  );
}
