/**
 * `deno task setup-number --number +15550100 [--agent NAME] [--mode relay|realtime|sip] [--dry-run]`:
 * points an owned Twilio number's voice webhook and status callback at `PUBLIC_URL`, for an agent
 * of `AGENTS_DIR` or one created from the pages (read from the service's KV); `--help` says so.
 * Exits 0 on success and 1 on any problem, which is printed naming the flag or variable.
 */

import { ConfigError, loadConfig } from "../lib/platform/config.ts";
import { errorMessage } from "../lib/platform/log.ts";
import {
  describeSetup,
  NumberSetupError,
  parseSetupArgs,
  SETUP_HELP,
  SETUP_USAGE,
  setupNumber,
  wantsHelp,
} from "../lib/outbound/number_setup.ts";
import { openKv } from "../lib/platform/kv_open.ts";
import { createTwilioApi } from "../lib/platform/twilio_api.ts";

/** Runs the set-up for `args` with `env`; returns the exit code. */
async function main(args: string[], env: Record<string, string>): Promise<number> {
  if (wantsHelp(args)) {
    console.log(SETUP_HELP);
    return 0;
  }
  try {
    const options = parseSetupArgs(args);
    const config = loadConfig(env);
    // An existing KV only: the agents created from the pages are there.
    const kv = await openKv(config.kvPath, { create: false });
    try {
      const client = createTwilioApi(config)?.client ?? null;
      console.log(describeSetup(await setupNumber({ config, client, kv }, options)));
    } finally {
      kv?.close();
    }
    return 0;
  } catch (err) {
    if (err instanceof NumberSetupError || err instanceof ConfigError) {
      console.error(`error:\n${err.problems.map((p) => `  ${p}`).join("\n")}\n${SETUP_USAGE}`);
    } else console.error(`error: ${errorMessage(err)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args, Deno.env.toObject()));
