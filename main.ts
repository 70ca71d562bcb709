/**
 * Callbridge entry point: reads the configuration, builds the services and serves HTTP and the
 * Twilio sockets until SIGINT/SIGTERM.
 */

import { createApp } from "./app.ts";
import { ConfigError, loadConfig } from "./lib/config.ts";
import { configWarnings, createServices } from "./lib/services.ts";

async function main(): Promise<void> {
  let services;
  try {
    services = await createServices(loadConfig());
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      Deno.exit(1);
    }
    throw err;
  }
  const { config, log } = services;
  for (const warning of configWarnings(config)) log.warn("config.warning", { warning });
  const app = createApp(services);
  const controller = new AbortController();
  const server = Deno.serve({
    port: config.port,
    hostname: config.hostname,
    signal: controller.signal,
    onListen: ({ hostname, port }) => log.info("server.listening", { hostname, port }),
  }, app.fetch);
  const stop = () => {
    log.info("server.stopping", { liveCalls: services.registry.size });
    for (const call of services.registry.list()) call.end("shutdown");
    controller.abort();
  };
  // KV's expireIn is best effort: purge records past retention now and then.
  const purge = setInterval(() => {
    services.records.store.purgeExpired().then(
      (n) => n && log.info("records.purged", { count: n }),
      (err) => log.warn("records.purge_failed", { error: String(err) }),
    );
  }, 60 * 60 * 1000);
  Deno.unrefTimer(purge);
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
}

if (import.meta.main) await main();
