/**
 * Replaces a live call's TwiML through Twilio's REST API (`calls(sid).update({ twiml })`): the
 * only way to take a call off a Media Stream from the service side with something to say.
 */

import twilio from "twilio";
import type { Config } from "./config.ts";

/** Replaces the TwiML of call `callSid`; rejects if Twilio refuses. */
export type CallRedirector = (callSid: string, twiml: string) => Promise<void>;

const DEFAULT_API = "https://api.twilio.com";

/** Sends every REST request to `base` instead of api.twilio.com (loopback tests). */
class BaseUrlRequestClient extends twilio.RequestClient {
  constructor(private readonly base: string) {
    super();
  }
  // deno-lint-ignore no-explicit-any -- the SDK's own generic signature
  override request<TData>(opts: any): Promise<any> {
    opts.uri = String(opts.uri).replace(DEFAULT_API, this.base);
    return super.request<TData>(opts);
  }
}

/** A redirector when an account SID and auth token are configured, else null. */
export function createCallRedirector(cfg: Config["twilio"]): CallRedirector | null {
  if (!cfg.accountSid || !cfg.authToken) return null;
  const httpClient = cfg.apiBaseUrl === DEFAULT_API
    ? undefined
    : new BaseUrlRequestClient(cfg.apiBaseUrl);
  const client = twilio(cfg.accountSid, cfg.authToken, { httpClient, autoRetry: false });
  return async (callSid, twiml) => {
    await client.calls(callSid).update({ twiml });
  };
}
