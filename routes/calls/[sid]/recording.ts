/**
 * `GET /calls/:sid/recording`: the call's recording for the call page's player, streamed from
 * Twilio with the account's credentials (admin only, like every page).
 *
 * @module
 */

import type { Handler } from "hono";
import { recordingResponse, recordingSources } from "../../../lib/admin/recording_media.ts";
import type { Services } from "../../../lib/services.ts";

/** Streams the media, or answers why not. */
export function callRecordingHandler(services: Services): Handler {
  return (c) =>
    recordingResponse(
      recordingSources(services),
      (c.req.param("sid") ?? "").slice(0, 64),
      c.req.header("range") ?? null,
    );
}
