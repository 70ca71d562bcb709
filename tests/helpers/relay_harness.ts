/**
 * A fake OpenAI server plus the real service pointed at it, and ConversationRelay calls into it.
 */

import type { Clock } from "../../lib/platform/clock.ts";
import { FakeOpenAI } from "../fakes/fake_openai.ts";
import { FakeTwilioApi } from "../fakes/fake_twilio_api.ts";
import { newCallSid, RelayClient } from "../fakes/relay_client.ts";
import { startService, TEST_AUTH_TOKEN, type TestService, twilioParameters } from "./service.ts";

/** The numbers a harness call's `setup` reports (RelayClient's defaults). */
const CALLER = "+15550100123";
const LINE = "+15550100999";

/** A service wired to a fake OpenAI. */
export interface RelayHarness {
  fake: FakeOpenAI;
  /** The fake Twilio REST API the service's SDK client talks to. */
  twilioApi: FakeTwilioApi;
  svc: TestService;
  /**
   * Does what Twilio does for a call to `customParameters.agent`: asks the voice webhook, opens
   * the signed socket and sends `setup` with the TwiML's `<Parameter>`s (and any others given).
   */
  call(customParameters?: Record<string, string>): Promise<RelayClient>;
  /**
   * Hangs up every call and stops everything; then fails if the service sent any call a
   * message Twilio would have refused (see {@link RelayClient.invalid}).
   */
  close(): Promise<void>;
}

/** Starts the fake and the service (with `env` on top), ready for calls. */
export async function relayHarness(
  env: Record<string, string> = {},
  options: { clock?: Clock } = {},
): Promise<RelayHarness> {
  const fake = new FakeOpenAI();
  const baseUrl = fake.start();
  const twilioApi = new FakeTwilioApi();
  const svc = await startService({
    OPENAI_API_KEY: fake.apiKey,
    OPENAI_BASE_URL: baseUrl,
    OPENAI_MODEL: "gpt-test",
    TWILIO_API_BASE_URL: twilioApi.start(),
    TWILIO_PHONE_NUMBER: "+15550100000",
    ...env,
  }, options);
  const clients: RelayClient[] = [];
  return {
    fake,
    twilioApi,
    svc,
    async call(customParameters = { agent: "default" }) {
      // Twilio's order: the webhook first, then the socket its TwiML names.
      const callSid = newCallSid();
      const { agent, ...extra } = customParameters;
      const twiml = await twilioParameters(svc.url, {
        callSid,
        from: CALLER,
        to: LINE,
        agent,
        path: "/twilio/voice/relay",
      });
      const client = await RelayClient.connect(svc.url, { authToken: TEST_AUTH_TOKEN, callSid });
      clients.push(client);
      client.setup({ ...twiml, ...extra });
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.disconnect()));
      await svc.close();
      await fake.close();
      await twilioApi.close();
      for (const client of clients) client.assertNoInvalid();
      const unknown = twilioApi.updates.filter((u) => u.status === 404);
      if (unknown.length > 0) {
        const sids = unknown.map((u) => u.callSid).join(", ");
        throw new Error(`the service updated calls Twilio does not have (404): ${sids}`);
      }
    },
  };
}

/** Resolves `promise` or fails after `ms` with `what` in the message. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Waits until `check()` is true, re-checking each time `tick` resolves (event-driven). */
export async function until(
  check: () => boolean,
  what: string,
  ms = 5000,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    // Yield to the event loop so socket and timer callbacks run.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits until the async `check()` is true (re-checked as the event loop turns). */
export async function eventually(
  check: () => Promise<boolean>,
  what: string,
  ms = 5000,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
