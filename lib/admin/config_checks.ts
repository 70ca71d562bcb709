/**
 * Live checks of the configuration for the `/config` page: is the OpenAI key accepted, are the
 * Twilio credentials accepted, is the public URL set and https, are signatures checked, is the
 * admin password set, do agents answering over SIP have the OpenAI project and webhook secret. Each failing check says how to fix it. Secrets never appear in the results.
 *
 * @module
 */

import OpenAI from "openai";
import type { Config } from "../platform/config.ts";
import { withTimeout } from "../platform/deadline.ts";
import { errorMessage } from "../platform/log.ts";
import type { TwilioApi } from "../platform/twilio_api.ts";

/** One check's result. */
export interface ConfigCheck {
  name: string;
  ok: boolean;
  /** What was found. */
  detail: string;
  /** What to do when it failed. */
  fix: string | null;
}

/** Options of {@link runConfigChecks}. */
export interface ConfigCheckOptions {
  /** Longest wait for each remote check. */
  timeoutMs?: number;
  /** The agents whose calls go to OpenAI's SIP endpoint (their mode, else `VOICE_MODE`). */
  sipAgents?: readonly string[];
}

/** Runs every check (the remote ones in parallel). */
export async function runConfigChecks(
  config: Config,
  twilio: TwilioApi | null,
  options: ConfigCheckOptions = {},
): Promise<ConfigCheck[]> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const [openai, account] = await Promise.all([
    checkOpenAi(config, timeoutMs),
    checkTwilio(config, twilio, timeoutMs),
  ]);
  return [
    openai,
    account,
    checkPublicUrl(config),
    checkSignatures(config),
    checkAdmin(config),
    checkSip(config, options.sipAgents ?? []),
  ];
}

/** The OpenAI key is accepted (lists models at `OPENAI_BASE_URL`). */
async function checkOpenAi(config: Config, timeoutMs: number): Promise<ConfigCheck> {
  const name = "OpenAI key accepted";
  const { apiKey, baseUrl } = config.openai;
  if (!apiKey) {
    return fail(
      name,
      "OPENAI_API_KEY is not set: callers hear a short apology instead of the agent.",
      "Create a key at https://platform.openai.com/api-keys, set OPENAI_API_KEY and restart.",
    );
  }
  try {
    const client = new OpenAI({ apiKey, baseURL: baseUrl, timeout: timeoutMs, maxRetries: 0 });
    const page = await client.models.list();
    return pass(name, `${baseUrl} accepted the key (${page.data.length} models listed).`);
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 401 || status === 403) {
      return fail(
        name,
        `${baseUrl} refused the key (${status}).`,
        "The key is wrong, revoked or from another project: create a new one and set OPENAI_API_KEY.",
      );
    }
    return fail(
      name,
      `Could not list models at ${baseUrl}: ${safeMessage(err, apiKey)}.`,
      "Check OPENAI_BASE_URL and that this machine can reach it.",
    );
  }
}

/** The Twilio account SID and auth token are accepted (fetches the account). */
async function checkTwilio(
  config: Config,
  twilio: TwilioApi | null,
  timeoutMs: number,
): Promise<ConfigCheck> {
  const name = "Twilio credentials accepted";
  const { accountSid, authToken } = config.twilio;
  if (!twilio || !accountSid || !authToken) {
    return fail(
      name,
      "TWILIO_ACCOUNT_SID or TWILIO_AUTH_TOKEN is not set.",
      "Copy the Account SID and Auth Token from the Twilio console (Account info), set both and restart.",
    );
  }
  try {
    const account = await withTimeout(
      twilio.client.api.accounts(accountSid).fetch(),
      timeoutMs,
      "Twilio's accounts API",
    );
    return pass(name, `Account "${account.friendlyName}" (${account.status}).`);
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 401 || status === 403) {
      return fail(
        name,
        `Twilio refused the credentials (${status}).`,
        "Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN against the Twilio console; a rotated auth token must be updated here too.",
      );
    }
    return fail(
      name,
      `Could not reach Twilio's API: ${safeMessage(err, authToken)}.`,
      "Check this machine's network access to api.twilio.com.",
    );
  }
}

function checkPublicUrl(config: Config): ConfigCheck {
  const name = "Public URL set and https";
  const url = config.publicUrl;
  if (!url) {
    return fail(
      name,
      "PUBLIC_URL is not set: URLs are derived from each request's Host header.",
      "Set PUBLIC_URL to the https URL Twilio reaches (e.g. your tunnel's https://….ngrok.app).",
    );
  }
  if (!url.startsWith("https://")) {
    return fail(
      name,
      `PUBLIC_URL is ${url}: Twilio cannot reach a loopback http URL.`,
      "Expose the service over https (ngrok, cloudflared) and set PUBLIC_URL to that URL.",
    );
  }
  return pass(name, `PUBLIC_URL is ${url}.`);
}

function checkSignatures(config: Config): ConfigCheck {
  const name = "Twilio signature validation on";
  if (!config.twilio.validateSignature) {
    return fail(
      name,
      "TWILIO_VALIDATE_SIGNATURE=false: anyone can reach /twilio/*.",
      "Remove TWILIO_VALIDATE_SIGNATURE (or set it to true) and restart.",
    );
  }
  if (!config.twilio.authToken) {
    return fail(
      name,
      "TWILIO_AUTH_TOKEN is not set: every /twilio/* request is refused.",
      "Set TWILIO_AUTH_TOKEN so Twilio's signatures can be checked.",
    );
  }
  return pass(name, "Every /twilio/* request must carry a valid X-Twilio-Signature.");
}

function checkAdmin(config: Config): ConfigCheck {
  const name = "Admin password set";
  if (!config.adminPassword) {
    return fail(
      name,
      "ADMIN_PASSWORD is not set: these pages answer only to a browser on this machine.",
      "Set ADMIN_PASSWORD before deploying; sign in as user admin.",
    );
  }
  return pass(name, "The admin pages, /metrics and the simulator need the password.");
}

/** Agents answering over SIP need the project their calls are dialled to and the webhook's secret. */
function checkSip(config: Config, sipAgents: readonly string[]): ConfigCheck {
  const name = "SIP calls configured";
  if (sipAgents.length === 0) {
    return pass(name, 'No agent answers over SIP (mode "sip"): nothing to set.');
  }
  const one = sipAgents.length === 1;
  const agents = `${one ? "Agent" : "Agents"} ${sipAgents.join(", ")}`;
  const answer = one ? "answers" : "answer";
  const { projectId, webhookSecret } = config.openai;
  if (!projectId) {
    return fail(
      name,
      `${agents} ${answer} over SIP, but OPENAI_PROJECT_ID is not set: their callers hear an apology.`,
      "Set OPENAI_PROJECT_ID to the proj_… id of the project (OpenAI dashboard → Settings) and restart.",
    );
  }
  if (!webhookSecret) {
    return fail(
      name,
      `${agents} ${answer} over SIP, but OPENAI_WEBHOOK_SECRET is not set: /openai/webhook answers ` +
        "503 and OpenAI's calls are never accepted.",
      "Add a project webhook for PUBLIC_URL/openai/webhook (events live.transport.incoming and " +
        "realtime.call.incoming) and set OPENAI_WEBHOOK_SECRET to its whsec_… signing secret.",
    );
  }
  return pass(
    name,
    `${agents} ${
      one ? "dials" : "dial"
    } sip:${projectId}@sip.api.openai.com; webhooks are verified.`,
  );
}

function pass(name: string, detail: string): ConfigCheck {
  return { name, ok: true, detail, fix: null };
}

function fail(name: string, detail: string, fix: string): ConfigCheck {
  return { name, ok: false, detail, fix };
}

/** An error message with `secret` blanked out, in case a client echoed it. */
function safeMessage(err: unknown, secret: string): string {
  return errorMessage(err).replaceAll(secret, "****").slice(0, 200);
}
