/**
 * Voice webhooks for an agent that does not exist (`/twilio/voice?agent=nosuch`): such a call is
 * answered by `default`, which hides the typo, so the last few are kept in Deno KV (shared by
 * every instance) with the number they came to, for `/config` to list as misconfigured numbers.
 *
 * KV keys: `["unknown_agent_webhook", to]` → {@link UnknownAgentWebhook}, one per number (the
 * newest), kept {@link UNKNOWN_AGENT_TTL_MS}.
 *
 * @module
 */

/** One webhook for an unknown agent: which name, to which number, when (the newest of them). */
export interface UnknownAgentWebhook {
  /** The agent name asked for (at most 64 characters). */
  agent: string;
  /** The number called (Twilio's `To`), "" when the request had none. */
  to: string;
  at: number;
}

const PREFIX = "unknown_agent_webhook";
/** A week: long enough to notice, short enough to drop once the number is fixed. */
export const UNKNOWN_AGENT_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** Remembers a webhook for an unknown agent (one entry per number: the newest). */
export async function recordUnknownAgent(
  kv: Deno.Kv,
  webhook: UnknownAgentWebhook,
): Promise<void> {
  const value = { ...webhook, agent: webhook.agent.slice(0, 64), to: webhook.to.slice(0, 32) };
  await kv.set([PREFIX, value.to], value, { expireIn: UNKNOWN_AGENT_TTL_MS });
}

/** The numbers that recently got a webhook for an unknown agent, newest first. */
export async function recentUnknownAgents(
  kv: Deno.Kv,
  options: { limit?: number; now?: number } = {},
): Promise<UnknownAgentWebhook[]> {
  const { limit = 20, now = Date.now() } = options;
  const out: UnknownAgentWebhook[] = [];
  for await (const entry of kv.list<UnknownAgentWebhook>({ prefix: [PREFIX] }, { limit: 1000 })) {
    // expireIn is best effort: enforce it on read too.
    if (now - entry.value.at <= UNKNOWN_AGENT_TTL_MS) out.push(entry.value);
  }
  return out.sort((a, b) => b.at - a.at).slice(0, limit);
}
