/**
 * The HTTP application: every route, with signature checking on `/twilio/*`.
 */

import { Hono } from "hono";
import { twilioSignature } from "./lib/twilio_signature.ts";
import type { Services } from "./lib/services.ts";
import { healthHandler } from "./routes/health.ts";
import { voiceHandler } from "./routes/twilio/voice.ts";
import { relaySocketHandler } from "./routes/twilio/relay.ts";
import { relayActionHandler } from "./routes/twilio/relay_action.ts";
import { streamSocketHandler } from "./routes/twilio/stream.ts";
import { realtimeVoiceHandler } from "./routes/twilio/voice_realtime.ts";

/** Builds the Hono app over `services`. */
export function createApp(services: Services): Hono {
  const app = new Hono();
  const { config, log } = services;
  app.get("/health", healthHandler(services));
  app.use(
    "/twilio/*",
    twilioSignature({
      authToken: config.twilio.authToken,
      enabled: config.twilio.validateSignature,
      publicUrl: config.publicUrl,
      log,
    }),
  );
  const relayVoice = voiceHandler(services);
  const realtimeVoice = realtimeVoiceHandler(services);
  app.post("/twilio/voice", config.voiceMode === "realtime" ? realtimeVoice : relayVoice);
  app.post("/twilio/voice/relay", relayVoice);
  app.post("/twilio/voice/realtime", realtimeVoice);
  app.get("/twilio/stream", streamSocketHandler(services));
  app.get("/twilio/relay", relaySocketHandler(services));
  app.post("/twilio/relay/action", relayActionHandler(services));
  app.onError((err, c) => {
    log.error("http.error", { path: c.req.path, error: err.message });
    return c.text("Internal Server Error", 500);
  });
  return app;
}
