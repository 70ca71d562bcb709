/**
 * A call's recording, streamed from Twilio to an authenticated client (the call page's player,
 * or the API): fetched with the account's credentials and passed through with only the media's
 * own headers (type, length, range), so the client never learns a Twilio URL or credential.
 *
 * @module
 */

import type { Logger } from "../platform/log.ts";
import type { TwilioApi } from "../platform/twilio_api.ts";
import type { CallStore } from "../records/call_store.ts";
import { recordingOf } from "../records/recordings.ts";

/** Headers of Twilio's answer that the client gets. */
const PASSED = ["content-type", "content-length", "content-range", "accept-ranges"];

/** What {@link recordingResponse} uses. */
export interface RecordingSources {
  store: CallStore;
  twilio: Pick<TwilioApi, "fetchRecording"> | null;
  log: Logger;
}

/**
 * The recording of call `key` (call SID or record id): its media, or 404 (no such call, or no
 * recording yet), 503 without Twilio credentials, 502 when Twilio does not serve it.
 */
export async function recordingResponse(
  sources: RecordingSources,
  key: string,
  range: string | null,
): Promise<Response> {
  const [record] = await sources.store.findByKey(key);
  const recording = record?.recording ??
    (record?.callSid ? await recordingOf(sources.store.kv, record.callSid) : null);
  if (!recording || recording.status === "absent" || recording.status === "failed") {
    return new Response("No recording of this call.", { status: 404 });
  }
  if (!sources.twilio) {
    return new Response("Twilio credentials are not set.", { status: 503 });
  }
  let media: Response;
  try {
    media = await sources.twilio.fetchRecording(recording.sid, range);
  } catch (err) {
    sources.log.warn("recording.fetch_failed", { recordingSid: recording.sid, error: String(err) });
    return new Response("Twilio did not serve the recording.", { status: 502 });
  }
  if (!media.ok && media.status !== 206) {
    await media.body?.cancel();
    sources.log.warn("recording.fetch_failed", {
      recordingSid: recording.sid,
      status: media.status,
    });
    return new Response("Twilio did not serve the recording.", { status: 502 });
  }
  const headers = new Headers({ "cache-control": "private, no-store" });
  for (const name of PASSED) {
    const value = media.headers.get(name);
    if (value) headers.set(name, value);
  }
  return new Response(media.body, { status: media.status, headers });
}
