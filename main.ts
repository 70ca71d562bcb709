/**
 * Callbridge entry point: reads the configuration, builds the services and serves HTTP and the
 * Twilio sockets. SIGTERM/SIGINT drain: no new calls, live calls get `DRAIN_SECONDS` to finish,
 * records are flushed at once (Deno Deploy kills 5 s after SIGINT) and again before exit; a
 * second signal exits at once after flushing.
 */

import { createApp } from "./app.ts";
import { ConfigError, loadConfig } from "./lib/platform/config.ts";
import { withTimeout } from "./lib/platform/deadline.ts";
import { listenProblem, startupProblem } from "./lib/platform/startup_error.ts";
import { configWarnings, createServices, type Services } from "./lib/services.ts";

/** How long calls ended at the drain deadline get to leave their sockets before the exit. */
const END_GRACE_MS = 1000;

/** Runs the service until it is stopped (bench/profiled_main.ts runs it too). */
export async function main(): Promise<void> {
  let services: Services;
  try {
    services = await createServices(loadConfig());
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : startupProblem(err), err);
  }
  const { config, log } = services;
  for (const warning of configWarnings(config)) log.warn("config.warning", { warning });
  const app = createApp(services);
  const controller = new AbortController();
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      port: config.port,
      hostname: config.hostname,
      signal: controller.signal,
      onListen: ({ hostname, port }) => log.info("server.listening", { hostname, port }),
    }, app.fetch);
  } catch (err) {
    fail(listenProblem(err, config), err);
  }
  // KV's expireIn is best effort: purge records past retention now and then.
  const purge = setInterval(() => {
    services.records.store.purgeExpired().then(
      (n) => n && log.info("records.purged", { count: n }),
      (err) => log.warn("records.purge_failed", { error: String(err) }),
    );
  }, 60 * 60 * 1000);
  Deno.unrefTimer(purge);

  let signals = 0;
  const onSignal = (signal: Deno.Signal) => {
    signals++;
    if (signals === 1) drain(services, signal, controller).finally(() => Deno.exit(0));
    else stopNow(services, signal).finally(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
  await server.finished;
}

/**
 * Exits 1 after printing `problem`: one line per problem, no stack trace (that one only with
 * `LOG_LEVEL=debug`, for a bug in the service itself).
 */
function fail(problem: string, err: unknown): never {
  console.error(problem);
  if (Deno.env.get("LOG_LEVEL") === "debug" && err instanceof Error) console.error(err.stack);
  Deno.exit(1);
}

/** First signal: stop taking calls, flush, let live calls finish, then stop. */
async function drain(services: Services, signal: string, server: AbortController): Promise<void> {
  const { log, registry, records, config } = services;
  services.lifecycle.startDrain();
  log.info("server.draining", {
    signal,
    liveCalls: registry.size,
    drainSeconds: config.drainSeconds,
  });
  await records.flushAll();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finished = await Promise.race([
    registry.whenEmpty().then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), config.drainSeconds * 1000);
    }),
  ]);
  clearTimeout(timer);
  if (!finished) {
    log.warn("server.drain_timeout", { liveCalls: registry.size });
    for (const call of registry.list()) call.end("shutdown");
    // Exiting at once could drop the `end` just queued for Twilio: a relay call leaves the
    // registry when Twilio, having read it, closes the socket.
    await withTimeout(registry.whenEmpty(), END_GRACE_MS, "calls leaving").catch(() =>
      log.warn("server.calls_left_open", { liveCalls: registry.size })
    );
    await records.endAll("shutdown");
  }
  await records.close();
  // A webhook attempt in flight records its result (and queues its retry) before the exit.
  await withTimeout(services.afterCall.idle(), END_GRACE_MS * 5, "after-call work").catch(() =>
    log.warn("server.after_call_left", {})
  );
  services.liveFeed.close(); // the dashboards' event streams
  services.toolFeed.close(); // the simulators' event streams
  await services.presence.close(); // its last write removed the ended calls' entries
  server.abort();
  log.info("server.stopped", { drained: finished });
}

/** Second signal: flush what every call has recorded and exit now. */
async function stopNow(services: Services, signal: string): Promise<void> {
  services.log.warn("server.stop_now", { signal, liveCalls: services.registry.size });
  for (const call of services.registry.list()) call.end("shutdown");
  await services.records.endAll("shutdown");
  await services.records.close();
}

if (import.meta.main) await main();
