/**
 * `GET /calls/:sid`: a call by record id or Twilio call SID. A call reconnected after a failure
 * has several records: all are shown, in order.
 *
 * @module
 */

import type { Handler } from "hono";
import { CallView } from "../../components/call_view.tsx";
import {
  AnalysisSection,
  DeleteSection,
  RecordingSection,
  WebhookSection,
} from "../../components/call_results.tsx";
import { webhookStatus } from "../../lib/records/call_webhook.ts";
import { recordingOf } from "../../lib/records/recordings.ts";
import { Layout } from "../../components/layout.tsx";
import { renderPage } from "../../components/render.ts";
import type { CallDetail } from "../../lib/records/call_store.ts";
import type { Services } from "../../lib/services.ts";

/** Renders every record of the call, or 404. */
export function callDetailHandler(services: Services): Handler {
  return async (c) => {
    const key = c.req.param("sid") ?? "";
    const store = services.records.store;
    // A call SID or a record id (a UUID); anything longer cannot be one.
    const records = key.length > 64
      ? []
      : /^CA/.test(key)
      ? await store.findBySid(key)
      : [await store.getRecord(key)].filter((r) => r !== null);
    const details = (await Promise.all(records.map((r) => store.getDetail(r.id))))
      .filter((d): d is CallDetail => d !== null);
    if (details.length === 0) {
      return renderPage(
        c,
        <Layout title="Call not found" active="/">
          <h1>Call not found</h1>
          <p>
            No record of <code>{key.slice(0, 64)}</code>: it may have expired.
          </p>
        </Layout>,
        404,
      );
    }
    const webhooks = await Promise.all(
      details.map((d) => webhookStatus(services.kv, d.record.id)),
    );
    const first = details[0].record;
    const recording = first.recording ??
      (first.callSid ? await recordingOf(services.kv, first.callSid) : null);
    const title = details[0].record.callSid ?? details[0].record.id;
    return renderPage(
      c,
      <Layout title={`Call ${title}`} active="/">
        <h1>{`Call ${title}`}</h1>
        {details.map((detail, i) => (
          <div key={detail.record.id}>
            <CallView detail={detail} index={i} count={details.length} />
            <AnalysisSection analysis={detail.record.analysis} />
            <WebhookSection id={detail.record.id} webhook={webhooks[i]} />
          </div>
        ))}
        <RecordingSection keyOfCall={key} recording={recording} />
        <DeleteSection keyOfCall={key} />
      </Layout>,
    );
  };
}
