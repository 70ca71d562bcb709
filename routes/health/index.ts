/**
 * `GET /health`: liveness as JSON.
 *
 * @module
 */

import type { Handler } from "hono";
import type { Services } from "../../lib/services.ts";

/** Answers `{ status, uptimeSeconds, calls, openai, twilio }`. */
export function healthHandler(services: Services): Handler {
  const started = Date.now();
  return (c) =>
    c.json({
      status: "ok",
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      calls: services.registry.countByMode(),
      openaiConfigured: services.llm !== null,
      twilioSignatureValidation: services.config.twilio.validateSignature,
    });
}
