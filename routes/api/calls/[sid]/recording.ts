/**
 * `GET /api/calls/:sid/recording`: the call's recording (the `recording.url` of the webhook and
 * of `GET /api/calls/:sid`), streamed from Twilio; bearer token.
 *
 * @module
 */

import type { Handler } from "hono";
import { recordingResponse, recordingSources } from "../../../../lib/admin/recording_media.ts";
import type { Services } from "../../../../lib/services.ts";

/** Streams the media, or answers why not. */
export function apiRecordingHandler(services: Services): Handler {
  return (c) =>
    recordingResponse(
      recordingSources(services),
      (c.req.param("sid") ?? "").slice(0, 64),
      c.req.header("range") ?? null,
    );
}
