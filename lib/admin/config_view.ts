/**
 * The effective configuration as rows for the `/config` page, with every secret replaced by
 * "set" or "not set", and the webhook URLs to paste into the Twilio console.
 *
 * @module
 */

import type { Config } from "../platform/config.ts";

/** One setting: its path in {@link Config} and its shown value. */
export interface ConfigRow {
  name: string;
  value: string;
  secret: boolean;
}

/** Keys whose values are never shown. */
const SECRET = /key|token|secret|password/i;

/** The configuration flattened to rows, secrets masked. */
export function configRows(config: Config): ConfigRow[] {
  const rows: ConfigRow[] = [];
  const walk = (value: unknown, path: string, secret: boolean) => {
    if (value instanceof Map) {
      // A table such as `SIP_TRUNK_AGENTS`: one row, `key=value` pairs.
      const pairs = [...value].map(([k, v]) => `${k}=${v}`).join(", ");
      rows.push({ name: path, value: secret ? "set (hidden)" : pairs || "—", secret });
      return;
    }
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) {
        walk(inner, path ? `${path}.${key}` : key, secret || SECRET.test(key));
      }
      return;
    }
    const shown = secret
      ? (value === null || value === "" ? "not set" : "set (hidden)")
      : value === null
      ? "—"
      : typeof value === "string"
      ? value === "" ? '""' : withoutCredentials(value)
      : JSON.stringify(value);
    rows.push({ name: path, value: shown, secret });
  };
  walk(config, "", false);
  return rows;
}

/** `value` with any `user:password@` of a URL in it replaced by `****@`. */
export function withoutCredentials(value: string): string {
  return value.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, "$1****@");
}

/** A URL to paste into the Twilio console. */
export interface WebhookUrl {
  what: string;
  url: string;
  method: "POST";
}

/** The webhook URLs for `base` (PUBLIC_URL, else this request's origin) and each agent. */
export function webhookUrls(base: string, agents: string[]): WebhookUrl[] {
  const urls: WebhookUrl[] = [
    { what: "A call comes in (default agent)", url: `${base}/twilio/voice`, method: "POST" },
    { what: "Call status changes", url: `${base}/twilio/status`, method: "POST" },
  ];
  for (const agent of agents.filter((a) => a !== "default")) {
    urls.push({
      what: `A call comes in (agent ${agent})`,
      url: `${base}/twilio/voice?agent=${encodeURIComponent(agent)}`,
      method: "POST",
    });
  }
  urls.push(
    { what: "Always ConversationRelay", url: `${base}/twilio/voice/relay`, method: "POST" },
    {
      what: "Always Media Streams + Realtime",
      url: `${base}/twilio/voice/realtime`,
      method: "POST",
    },
    { what: "Always SIP to OpenAI", url: `${base}/twilio/voice/sip`, method: "POST" },
    {
      what: "OpenAI project webhook (SIP calls)",
      url: `${base}/openai/webhook`,
      method: "POST",
    },
  );
  return urls;
}
