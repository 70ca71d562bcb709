/**
 * `GET /health/ready`: readiness as JSON (KV reachable, configuration able to take calls), naming
 * the instance that answered and its version.
 *
 * @module
 */

import type { Handler } from "hono";
import type { Services } from "../../lib/services.ts";

const KV_TIMEOUT_MS = 2000;

/** 200 `{ ready: true, instance, version, checks }` when ready, else 503 with the failing checks. */
export function readyHandler(services: Services): Handler {
  return async (c) => {
    const { config } = services;
    const checks = {
      kv: await kvReachable(services.kv),
      openaiKey: config.openai.apiKey !== null,
      twilioSignatures: !config.twilio.validateSignature || config.twilio.authToken !== null,
      notDraining: !services.lifecycle.draining,
    };
    const ready = Object.values(checks).every(Boolean);
    const { id, version } = config.instance;
    return c.json({ ready, instance: id, version, checks }, ready ? 200 : 503);
  };
}

async function kvReachable(kv: Deno.Kv): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      kv.get(["health", "ready"]).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), KV_TIMEOUT_MS);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
