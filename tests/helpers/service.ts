/**
 * Starts the real service (Hono app over Deno.serve) on 127.0.0.1 with a free port, configured
 * from an env-style record, and captures its log lines.
 */

import { XMLParser } from "fast-xml-parser";
import twilio from "twilio";
import { serveOnLoopback } from "../../app.ts";
import type { Clock } from "../../lib/platform/clock.ts";
import { loadConfig } from "../../lib/platform/config.ts";
import type { Services } from "../../lib/services.ts";

/** The auth token tests sign Twilio requests with. */
export const TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef";
/** A syntactically valid account SID for tests. */
export const TEST_ACCOUNT_SID = "AC00000000000000000000000000000000";

/** A running service. */
export interface TestService {
  /** `http://127.0.0.1:PORT` (also its PUBLIC_URL). */
  url: string;
  services: Services;
  /** Parsed log lines, in order. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Starts the service with `env` on top of test defaults (signatures on, test auth token). */
export async function startService(
  env: Record<string, string> = {},
  options: { clock?: Clock } = {},
): Promise<TestService> {
  const logs: Record<string, unknown>[] = [];
  const { url, services, close } = await serveOnLoopback((url) =>
    loadConfig({
      TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
      TWILIO_ACCOUNT_SID: TEST_ACCOUNT_SID,
      PUBLIC_URL: url,
      LOG_LEVEL: "debug",
      KV_PATH: ":memory:",
      ...env,
    }), {
    sink: (line) => logs.push(JSON.parse(line)),
    clock: options.clock,
  });
  return {
    url,
    services,
    logs,
    async close() {
      for (const call of services.registry.list()) call.end("test-shutdown");
      await close();
    },
  };
}

/** POSTs a Twilio-style form to `url`, signed as Twilio signs it (unless `signature` is given). */
export async function postSigned(
  url: string,
  params: Record<string, string>,
  options: { signature?: string | null; signedUrl?: string; authToken?: string; body?: string } =
    {},
): Promise<Response> {
  const signature = options.signature === undefined
    ? twilio.getExpectedTwilioSignature(
      options.authToken ?? TEST_AUTH_TOKEN,
      options.signedUrl ?? url,
      params,
    )
    : options.signature;
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (signature !== null) headers["x-twilio-signature"] = signature;
  return await fetch(url, {
    method: "POST",
    headers,
    body: options.body ?? new URLSearchParams(params),
  });
}

/** A loopback URL where nothing listens: connections to it are refused. */
export function refusedUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

/** The call a {@link twilioParameters} webhook is about. */
export interface WebhookCall {
  callSid: string;
  from?: string;
  to?: string;
  agent?: string;
  /** The voice webhook to ask (default `/twilio/voice`). */
  path?: string;
  /** Signs with this auth token (default the tests' one). */
  authToken?: string;
}

const twiml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseTagValue: false,
  parseAttributeValue: false,
});

/**
 * What Twilio does before it opens a call's socket: it POSTs the voice webhook (signed) and
 * reads the `<Parameter>`s of the TwiML it answers — the agent, the call's token and so on —
 * which the socket's `setup` or `start` then carries.
 */
export async function twilioParameters(
  serviceUrl: string,
  call: WebhookCall,
): Promise<Record<string, string>> {
  const query = call.agent ? `?agent=${encodeURIComponent(call.agent)}` : "";
  const res = await postSigned(`${serviceUrl}${call.path ?? "/twilio/voice"}${query}`, {
    CallSid: call.callSid,
    AccountSid: TEST_ACCOUNT_SID,
    From: call.from ?? "",
    To: call.to ?? "",
    CallStatus: "ringing",
    Direction: "inbound",
  }, { authToken: call.authToken });
  if (res.status !== 200) throw new Error(`the voice webhook answered ${res.status}`);
  return parametersOf(await res.text());
}

/** The `<Parameter>`s of a `<ConversationRelay>` or `<Stream>` in `xml`, as a record. */
export function parametersOf(xml: string): Record<string, string> {
  const connect = twiml.parse(xml).Response?.Connect;
  const noun = connect?.ConversationRelay ?? connect?.Stream;
  if (!noun) throw new Error(`no <Connect> in the TwiML: ${xml.slice(0, 200)}`);
  const list = [noun.Parameter ?? []].flat() as { name: string; value: string }[];
  return Object.fromEntries(list.map((p) => [p.name, p.value]));
}
