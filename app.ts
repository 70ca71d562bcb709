/**
 * The HTTP application: every route, with signature checking on `/twilio/*`, a bearer token on
 * `/api/*`, and the admin guard (password or local client, CSRF, secure headers) on the admin
 * pages, `/metrics` and the simulator.
 */

import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { serveStatic } from "hono/deno";
import { HTTPException } from "hono/http-exception";
import { adminGuard, isAdminPath } from "./lib/admin/admin_access.ts";
import { limitHit } from "./lib/calls/admission.ts";
import { SimulatorTokens } from "./lib/admin/simulator_token.ts";
import { twilioSignature } from "./lib/admin/twilio_signature.ts";
import type { Services } from "./lib/services.ts";
import { agentsHandler } from "./routes/agents/index.tsx";
import {
  agentPageHandler,
  agentRestoreHandler,
  agentSaveHandler,
  agentVersionHandler,
} from "./routes/agents/[name]/index.tsx";
import { createCallHandler } from "./routes/api/calls.ts";
import { callDetailHandler } from "./routes/calls/[sid].tsx";
import { configPageHandler } from "./routes/config.tsx";
import { dashboardHandler } from "./routes/index.tsx";
import { healthHandler } from "./routes/health/index.ts";
import { readyHandler } from "./routes/health/ready.ts";
import { liveEventsHandler } from "./routes/live/events.ts";
import { metricsHandler } from "./routes/metrics.ts";
import { simulatorPageHandler, simulatorTokenHandler } from "./routes/simulator/index.tsx";
import { voiceHandler } from "./routes/twilio/voice.ts";
import { relaySocketHandler } from "./routes/twilio/relay/index.ts";
import { relayActionHandler } from "./routes/twilio/relay/action.ts";
import { statusCallbackHandler } from "./routes/twilio/status.ts";
import { streamSocketHandler } from "./routes/twilio/stream/index.ts";
import { streamActionHandler } from "./routes/twilio/stream/action.ts";

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Whether a request comes straight from this machine (admin access without a password). */
  isLocal?: (c: Context) => boolean;
}

/** The folder of this module: `static/` is served from it whatever the working directory. */
const APP_DIR = new URL(".", import.meta.url).pathname;

/** Builds the Hono app over `services`. */
export function createApp(services: Services, options: AppOptions = {}): Hono {
  const app = new Hono();
  const { config, log } = services;
  const simulatorTokens = new SimulatorTokens(services.kv);
  app.get("/health", healthHandler(services));
  app.get("/health/ready", readyHandler(services));
  app.use("/static/*", serveStatic({ root: APP_DIR }));

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
      simulator: simulatorTokens,
    }),
  );
  app.post("/twilio/voice", voiceHandler(services, null));
  app.post("/twilio/voice/relay", voiceHandler(services, "relay"));
  app.post("/twilio/voice/realtime", voiceHandler(services, "realtime"));
  app.get("/twilio/stream", streamSocketHandler(services));
  app.post("/twilio/stream/action", streamActionHandler(services));
  app.get("/twilio/relay", relaySocketHandler(services));
  app.post("/twilio/relay/action", relayActionHandler(services));
  app.post("/twilio/status", statusCallbackHandler(services));

  app.use("/api/*", apiAccess(config.apiToken));
  app.use("/api/*", limitBody);
  app.post("/api/calls", createCallHandler(services));

  const admin = adminGuard({
    password: config.adminPassword,
    localAllowed: !config.production,
    isLocal: options.isLocal,
    log,
    publicUrl: config.publicUrl,
  });
  app.use("*", (c, next) => (isAdminPath(c.req.path) ? admin(c, next) : next()));
  app.get("/", dashboardHandler(services));
  app.get("/live/events", liveEventsHandler(services));
  app.get("/calls/:sid", callDetailHandler(services));
  app.get("/agents", agentsHandler(services));
  app.get("/agents/:name", agentPageHandler(services));
  app.post("/agents/:name", agentSaveHandler(services));
  app.post("/agents/:name/restore", agentRestoreHandler(services));
  app.get("/agents/:name/versions/:version", agentVersionHandler(services));
  app.get("/config", configPageHandler(services));
  app.get("/simulator", simulatorPageHandler(services));
  app.post("/simulator/token", simulatorTokenHandler(services, simulatorTokens));
  app.get("/metrics", metricsHandler(services));

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
