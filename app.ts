/**
 * The HTTP application: every route, with signature checking on `/twilio/*`, a bearer token on
 * `/api/*`, and the admin guard (password or local client, CSRF, secure headers) on everything
 * else — deny by default: a route is admin-only unless its path is in {@link PUBLIC_PATHS}.
 *
 * Route files mirror their URLs, as in Fresh's file routing: `routes/calls/[sid].tsx` serves
 * `/calls/:sid`, and a folder's `index` file serves the folder's URL. Shared page parts live in
 * `components/`, so a route file holds only its route's handlers.
 *
 * | method    | URL                               | file                                          |
 * | --------- | --------------------------------- | --------------------------------------------- |
 * | GET       | `/`                               | `routes/index.tsx`                            |
 * | GET       | `/calls.csv`                      | `routes/calls.csv.ts`                         |
 * | GET       | `/calls/:sid`                     | `routes/calls/[sid].tsx`                      |
 * | POST      | `/calls/:sid/webhook`             | `routes/calls/[sid]/webhook.ts`               |
 * | POST      | `/calls/:sid/delete`              | `routes/calls/[sid]/delete.tsx`               |
 * | GET       | `/calls/:sid/recording`           | `routes/calls/[sid]/recording.ts`             |
 * | GET, POST | `/agents`                         | `routes/agents/index.tsx`                     |
 * | GET, POST | `/agents/:name`                   | `routes/agents/[name]/index.tsx`              |
 * | POST      | `/agents/:name/restore`           | `routes/agents/[name]/restore.ts`             |
 * | POST      | `/agents/:name/follow`            | `routes/agents/[name]/follow.ts`              |
 * | POST      | `/agents/:name/delete`            | `routes/agents/[name]/delete.ts`              |
 * | GET       | `/agents/:name/diff`              | `routes/agents/[name]/diff.tsx`               |
 * | GET       | `/agents/:name/versions/:version` | `routes/agents/[name]/versions/[version].tsx` |
 * | GET       | `/agents/:name/export/:version`   | `routes/agents/[name]/export/[version].ts`    |
 * | GET       | `/agents/:name/scenarios`         | `routes/agents/[name]/scenarios/index.tsx`    |
 * | POST      | `/agents/:name/scenarios/run`     | `routes/agents/[name]/scenarios/run.tsx`      |
 * | POST      | `/agents/:name/scenarios/runs`    | `routes/agents/[name]/scenarios/runs.ts`      |
 * | GET       | `/config`                         | `routes/config.tsx`                           |
 * | POST      | `/config/checks`                  | `routes/config/checks.ts`                     |
 * | GET       | `/simulator`                      | `routes/simulator/index.tsx`                  |
 * | POST      | `/agents/:name/tools/:tool/test`  | `routes/agents/[name]/tools/[tool]/test.tsx`  |
 * | POST      | `/simulator/token`                | `routes/simulator/token.ts`                   |
 * | GET       | `/simulator/events/:sid`          | `routes/simulator/events/[sid].ts`            |
 * | POST      | `/demo/booking/slots` (demo)      | `routes/demo/booking/slots.ts`                |
 * | POST      | `/demo/booking/book` (demo)       | `routes/demo/booking/book.ts`                 |
 * | POST      | `/demo/booking/cancel` (demo)     | `routes/demo/booking/cancel.ts`               |
 * | GET       | `/live/events`                    | `routes/live/events.ts`                       |
 * | GET       | `/metrics`                        | `routes/metrics.ts`                           |
 * | GET       | `/health` (public)                | `routes/health/index.ts`                      |
 * | GET       | `/health/ready` (public)          | `routes/health/ready.ts`                      |
 * | GET       | `/favicon.ico` (public)           | `routes/favicon.ico.ts`                       |
 * | GET, POST | `/api/calls` (bearer token)       | `routes/api/calls.ts`                         |
 * | GET       | `/api/calls/:sid` (bearer token)  | `routes/api/calls/[sid].ts`                   |
 * | DELETE    | `/api/calls/:sid` (bearer token)  | `routes/api/calls/[sid].ts`                   |
 * | GET       | `/api/calls/:sid/recording` (bearer token) | `routes/api/calls/[sid]/recording.ts` |
 * | POST      | `/twilio/voice` (signed)          | `routes/twilio/voice.ts`                      |
 * | POST      | `/twilio/voice/relay` (signed)    | `routes/twilio/voice.ts`                      |
 * | POST      | `/twilio/voice/realtime` (signed) | `routes/twilio/voice.ts`                      |
 * | POST      | `/twilio/voice/sip` (signed)      | `routes/twilio/voice.ts`                      |
 * | GET       | `/twilio/relay` (signed, socket)  | `routes/twilio/relay/index.ts`                |
 * | POST      | `/twilio/relay/action` (signed)   | `routes/twilio/relay/action.ts`               |
 * | GET       | `/twilio/stream` (signed, socket) | `routes/twilio/stream/index.ts`               |
 * | POST      | `/twilio/stream/action` (signed)  | `routes/twilio/stream/action.ts`              |
 * | POST      | `/twilio/status` (signed)         | `routes/twilio/status.ts`                     |
 * | POST      | `/twilio/recording` (signed)      | `routes/twilio/recording.ts`                  |
 * | POST      | `/openai/webhook` (signed)        | `routes/openai/webhook.ts`                    |
 *
 * `routes/twilio/voice.ts` serves its three sub-paths too: they differ only in the call path the
 * one handler factory is given. `/static/*` is `static/`, served as files (public). The demo
 * booking service (`/demo/booking/*`, `DEMO_BOOKING`) is admin-only too, except to a request
 * signed as the agents' HTTP tools sign theirs (`lib/demo/demo_access.ts`).
 *
 * @module
 */

import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { except } from "hono/combine";
import { serveStatic } from "hono/deno";
import { HTTPException } from "hono/http-exception";
import { adminGuard } from "./lib/admin/admin_access.ts";
import { limitHit } from "./lib/calls/admission.ts";
import { SimulatorTokens } from "./lib/admin/simulator_token.ts";
import { twilioSignature } from "./lib/admin/twilio_signature.ts";
import { demoOrAdmin } from "./lib/demo/demo_access.ts";
import { DemoBooking } from "./lib/demo/demo_booking.ts";
import {
  closeServices,
  createServices,
  type ServiceOptions,
  type Services,
} from "./lib/services.ts";
import type { Config } from "./lib/platform/config.ts";
import { dashboardHandler } from "./routes/index.tsx";
import { callDetailHandler } from "./routes/calls/[sid].tsx";
import { webhookResendHandler } from "./routes/calls/[sid]/webhook.ts";
import { agentCreateHandler, agentsHandler } from "./routes/agents/index.tsx";
import { agentDeleteHandler } from "./routes/agents/[name]/delete.ts";
import { agentPageHandler, agentSaveHandler } from "./routes/agents/[name]/index.tsx";
import { agentRestoreHandler } from "./routes/agents/[name]/restore.ts";
import { agentVersionHandler } from "./routes/agents/[name]/versions/[version].tsx";
import { agentFollowHandler } from "./routes/agents/[name]/follow.ts";
import { agentDiffHandler } from "./routes/agents/[name]/diff.tsx";
import { agentExportHandler } from "./routes/agents/[name]/export/[version].ts";
import { scenariosPageHandler } from "./routes/agents/[name]/scenarios/index.tsx";
import { scenarioRunHandler } from "./routes/agents/[name]/scenarios/run.tsx";
import { scenarioRunsHandler } from "./routes/agents/[name]/scenarios/runs.ts";
import { configPageHandler } from "./routes/config.tsx";
import { configChecksHandler } from "./routes/config/checks.ts";
import { simulatorPageHandler } from "./routes/simulator/index.tsx";
import { simulatorTokenHandler } from "./routes/simulator/token.ts";
import { simulatorEventsHandler } from "./routes/simulator/events/[sid].ts";
import { toolTestHandler } from "./routes/agents/[name]/tools/[tool]/test.tsx";
import { demoSlotsHandler } from "./routes/demo/booking/slots.ts";
import { demoBookHandler } from "./routes/demo/booking/book.ts";
import { demoCancelHandler } from "./routes/demo/booking/cancel.ts";
import { liveEventsHandler } from "./routes/live/events.ts";
import { metricsHandler } from "./routes/metrics.ts";
import { faviconHandler } from "./routes/favicon.ico.ts";
import { healthHandler } from "./routes/health/index.ts";
import { readyHandler } from "./routes/health/ready.ts";
import { createCallHandler, listCallsHandler } from "./routes/api/calls.ts";
import { callDeleteApiHandler, callDetailApiHandler } from "./routes/api/calls/[sid].ts";
import { callDeleteHandler } from "./routes/calls/[sid]/delete.tsx";
import { callRecordingHandler } from "./routes/calls/[sid]/recording.ts";
import { apiRecordingHandler } from "./routes/api/calls/[sid]/recording.ts";
import { recordingCallbackHandler } from "./routes/twilio/recording.ts";
import { callsCsvHandler } from "./routes/calls.csv.ts";
import { voiceHandler } from "./routes/twilio/voice.ts";
import { relaySocketHandler } from "./routes/twilio/relay/index.ts";
import { relayActionHandler } from "./routes/twilio/relay/action.ts";
import { streamSocketHandler } from "./routes/twilio/stream/index.ts";
import { streamActionHandler } from "./routes/twilio/stream/action.ts";
import { statusCallbackHandler } from "./routes/twilio/status.ts";
import { openAiWebhookHandler } from "./routes/openai/webhook.ts";

/**
 * The paths the admin guard lets through; every other path, routes added later included, is
 * admin-only. Each has a check of its own or needs none: liveness and readiness for load
 * balancers, the pages' static files, Twilio's signature on `/twilio/*`, the bearer token on
 * `/api/*`, and the favicon.
 */
export const PUBLIC_PATHS: readonly string[] = [
  "/health",
  "/health/ready",
  "/favicon.ico",
  "/static/*",
  "/twilio/*",
  "/api/*",
  "/openai/webhook",
];

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
  // Deny by default: registered first, the guard runs before every route that is not public,
  // including any route registered on the returned app later.
  const admin = adminGuard({
    password: config.adminPassword,
    localAllowed: !config.production,
    isLocal: options.isLocal,
    log,
    publicUrl: config.publicUrl,
  });
  app.use("*", except([...PUBLIC_PATHS], demoOrAdmin(config.tools.signingSecret, admin)));

  app.get("/health", healthHandler(services));
  app.get("/health/ready", readyHandler(services));
  app.get("/favicon.ico", faviconHandler());
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
      rejections: services.rejections,
    }),
  );
  app.post("/twilio/voice", voiceHandler(services, null));
  app.post("/twilio/voice/relay", voiceHandler(services, "relay"));
  app.post("/twilio/voice/realtime", voiceHandler(services, "realtime"));
  app.post("/twilio/voice/sip", voiceHandler(services, "sip"));
  app.get("/twilio/stream", streamSocketHandler(services));
  app.post("/twilio/stream/action", streamActionHandler(services));
  app.get("/twilio/relay", relaySocketHandler(services));
  app.post("/twilio/relay/action", relayActionHandler(services));
  app.post("/twilio/status", statusCallbackHandler(services));
  app.post("/twilio/recording", recordingCallbackHandler(services));

  app.use("/openai/webhook", limitBody);
  app.post("/openai/webhook", openAiWebhookHandler(services));

  app.use("/api/*", apiAccess(config.apiToken));
  app.use("/api/*", limitBody);
  app.post("/api/calls", createCallHandler(services));
  app.get("/api/calls", listCallsHandler(services));
  app.get("/api/calls/:sid", callDetailApiHandler(services));
  app.delete("/api/calls/:sid", callDeleteApiHandler(services));
  app.get("/api/calls/:sid/recording", apiRecordingHandler(services));

  app.get("/", dashboardHandler(services));
  app.get("/live/events", liveEventsHandler(services));
  app.get("/calls.csv", callsCsvHandler(services));
  app.get("/calls/:sid", callDetailHandler(services));
  app.post("/calls/:sid/webhook", webhookResendHandler(services));
  app.post("/calls/:sid/delete", callDeleteHandler(services));
  app.get("/calls/:sid/recording", callRecordingHandler(services));
  app.get("/agents", agentsHandler(services));
  app.post("/agents", agentCreateHandler(services));
  app.get("/agents/:name", agentPageHandler(services));
  app.post("/agents/:name", agentSaveHandler(services));
  app.post("/agents/:name/restore", agentRestoreHandler(services));
  app.post("/agents/:name/follow", agentFollowHandler(services));
  app.post("/agents/:name/delete", agentDeleteHandler(services));
  app.get("/agents/:name/diff", agentDiffHandler(services));
  app.get("/agents/:name/versions/:version", agentVersionHandler(services));
  app.get("/agents/:name/export/:version", agentExportHandler(services));
  app.get("/agents/:name/scenarios", scenariosPageHandler(services));
  app.post("/agents/:name/scenarios/run", scenarioRunHandler(services, simulatorTokens));
  app.post("/agents/:name/scenarios/runs", scenarioRunsHandler(services));
  app.get("/config", configPageHandler(services));
  app.post("/config/checks", configChecksHandler(services));
  app.get("/simulator", simulatorPageHandler(services));
  app.post("/agents/:name/tools/:tool/test", toolTestHandler(services));
  app.post("/simulator/token", simulatorTokenHandler(services, simulatorTokens));
  app.get("/simulator/events/:sid", simulatorEventsHandler(services));
  if (config.demoBooking) {
    const booking = new DemoBooking(services.kv);
    app.post("/demo/booking/slots", demoSlotsHandler(booking));
    app.post("/demo/booking/book", demoBookHandler(booking));
    app.post("/demo/booking/cancel", demoCancelHandler(booking));
  }
  app.get("/metrics", metricsHandler(services));

  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    log.error("http.error", { path: c.req.path, error: err.message });
    return c.text("Internal Server Error", 500);
  });
  return app;
}

/**
 * The service in this process on a free loopback port, which is also its public URL (`configOf`
 * is given it): the scenario runner's (`deno task scenarios` without `--url`) and the tests'.
 */
export async function serveOnLoopback(
  configOf: (url: string) => Config,
  options: ServiceOptions = {},
): Promise<{ url: string; services: Services; close(): Promise<void> }> {
  let handler: (req: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response> = () =>
    new Response("starting", { status: 503 });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    // The connection info lets the app tell local admin clients (hono/deno getConnInfo).
    (req, info) => handler(req, info),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  let services: Services;
  try {
    services = await createServices(configOf(url), options);
  } catch (err) {
    await server.shutdown();
    throw err;
  }
  handler = createApp(services).fetch;
  return { url, services, close: () => closeServices(services, server) };
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
