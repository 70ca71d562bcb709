/**
 * The HTTP application: every route, with signature checking on `/twilio/*` and a bearer token
 * on `/api/*`.
 */

import { Hono, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { limitHit } from "./lib/admission.ts";
import { twilioSignature } from "./lib/twilio_signature.ts";
import type { Services } from "./lib/services.ts";
import { createCallHandler } from "./routes/api/calls.ts";
import { healthHandler } from "./routes/health.ts";
import { voiceHandler } from "./routes/twilio/voice.ts";
import { relaySocketHandler } from "./routes/twilio/relay.ts";
import { relayActionHandler } from "./routes/twilio/relay_action.ts";
import { statusCallbackHandler } from "./routes/twilio/status.ts";
import { streamSocketHandler } from "./routes/twilio/stream.ts";

/** Builds the Hono app over `services`. */
export function createApp(services: Services): Hono {
  const app = new Hono();
  const { config, log } = services;
  app.get("/health", healthHandler(services));

  const limitBody = bodyLimit({
    maxSize: config.limits.maxBodyBytes,
    onError: (c) => {
      limitHit(services, "max_body_bytes", { path: c.req.path });
      return c.text("Payload Too Large", 413);
    },
  });
  app.use("/twilio/*", limitBody);
  app.use(
    "/twilio/*",
    twilioSignature({
      authToken: config.twilio.authToken,
      enabled: config.twilio.validateSignature,
      publicUrl: config.publicUrl,
      log,
    }),
  );
  app.post("/twilio/voice", voiceHandler(services, null));
  app.post("/twilio/voice/relay", voiceHandler(services, "relay"));
  app.post("/twilio/voice/realtime", voiceHandler(services, "realtime"));
  app.get("/twilio/stream", streamSocketHandler(services));
  app.get("/twilio/relay", relaySocketHandler(services));
  app.post("/twilio/relay/action", relayActionHandler(services));
  app.post("/twilio/status", statusCallbackHandler(services));

  app.use("/api/*", apiAccess(config.apiToken));
  app.use("/api/*", limitBody);
  app.post("/api/calls", createCallHandler(services));

  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    log.error("http.error", { path: c.req.path, error: err.message });
    return c.text("Internal Server Error", 500);
  });
  return app;
}

/** `/api/*` needs `Authorization: Bearer API_TOKEN`; without a configured token the API is off. */
function apiAccess(token: string | null): MiddlewareHandler {
  if (!token) {
    const off = { error: "The API is off: set API_TOKEN to enable it." };
    return (c) => Promise.resolve(c.json(off, 404));
  }
  return bearerAuth({
    token,
    noAuthenticationHeaderMessage: { error: "Missing Authorization: Bearer <API_TOKEN>." },
    invalidTokenMessage: { error: "Invalid API token." },
    invalidAuthenticationHeaderMessage: { error: "Malformed Authorization header." },
  });
}
