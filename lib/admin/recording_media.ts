/**
 * A call's recording, streamed to an authenticated client (the call page's player, or the API)
 * from where it is held: Twilio (fetched with the account's credentials) or, for a GPT-Live SIP
 * call, OpenAI (`client.live.sessions.downloadRecording`). Only the media's own headers (type,
 * length, range) are passed through, so the client never learns a vendor URL or credential.
 *
 * @module
 */

import type OpenAI from "openai";
import { errorMessage, type Logger } from "../platform/log.ts";
import type { TwilioApi } from "../platform/twilio_api.ts";
import type { CallStore } from "../records/call_store.ts";
import { recordingOf } from "../records/recordings.ts";

/** Headers of Twilio's answer that the client gets. */
const PASSED = ["content-type", "content-length", "content-range", "accept-ranges"];

/** What {@link recordingResponse} uses. */
export interface RecordingSources {
  store: CallStore;
  twilio: Pick<TwilioApi, "fetchRecording"> | null;
  /** Null without `OPENAI_API_KEY`. */
  liveSessions: Pick<OpenAI["live"]["sessions"], "downloadRecording"> | null;
  log: Logger;
}

/** A service's sources of recordings: its records' store, Twilio, OpenAI's Live sessions, its log. */
export function recordingSources(
  services: Omit<RecordingSources, "store"> & { records: { store: CallStore } },
): RecordingSources {
  const { records, twilio, liveSessions, log } = services;
  return { store: records.store, twilio, liveSessions, log };
}

/**
 * The recording of call `key` (call SID or record id): its media, or 404 (no such call, or no
 * recording yet), 503 without the holder's credentials, 502 when the holder does not serve it.
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
  if (recording.source === "openai") return await openAiRecording(sources, recording.sid);
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
  return passThrough(media);
}

/** A GPT-Live SIP session's recording, kept by OpenAI (the session was accepted with `store`). */
async function openAiRecording(sources: RecordingSources, sessionId: string): Promise<Response> {
  if (!sources.liveSessions) {
    return new Response("OPENAI_API_KEY is not set.", { status: 503 });
  }
  try {
    return passThrough(await sources.liveSessions.downloadRecording(sessionId));
  } catch (err) {
    const status = (err as { status?: number }).status;
    sources.log.warn("recording.fetch_failed", { sessionId, error: errorMessage(err) });
    return status === 404
      ? new Response("OpenAI has no recording of this call.", { status: 404 })
      : new Response("OpenAI did not serve the recording.", { status: 502 });
  }
}

/** `media` with only its own headers, never cached. */
function passThrough(media: Response): Response {
  const headers = new Headers({ "cache-control": "private, no-store" });
  for (const name of PASSED) {
    const value = media.headers.get(name);
    if (value) headers.set(name, value);
  }
  return new Response(media.body, { status: media.status, headers });
}
