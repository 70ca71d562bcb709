/**
 * One ConversationRelay call as Twilio places it, for the relay benchmarks: the socket, `setup`
 * with the voice webhook's parameters (the call's token), one prompt and its whole answer, and
 * the caller hanging up (the fake's answer is scripted by the caller of {@link oneRelayCall});
 * and the service's env those calls expect.
 *
 * @module
 */

import type { FakeOpenAI } from "../tests/fakes/fake_openai.ts";
import { RelayClient } from "../tests/fakes/relay_client.ts";
import { twilioParameters } from "../tests/helpers/service.ts";

/** The auth token the relay benchmarks' service checks Twilio's signatures with. */
export const RELAY_AUTH_TOKEN = "bench-auth-token";

/** The service's env for the relay benchmarks: on `fake`, no greeting, quiet logs. */
export function relayServiceEnv(fake: FakeOpenAI): Record<string, string> {
  return {
    OPENAI_API_KEY: fake.apiKey,
    OPENAI_BASE_URL: fake.baseUrl,
    TWILIO_AUTH_TOKEN: RELAY_AUTH_TOKEN,
    WELCOME_GREETING: "",
    LOG_LEVEL: "warn",
  };
}

/** Places one call of one turn on the service at `url` (signed with `authToken`). */
export async function oneRelayCall(url: string, authToken: string): Promise<void> {
  const client = await RelayClient.connect(url, { authToken });
  client.setup(
    await twilioParameters(url, {
      callSid: client.callSid,
      from: client.from,
      to: client.to,
      authToken,
      path: "/twilio/voice/relay",
    }),
  );
  client.prompt("hello");
  await client.turn(30000);
  await client.hangUp();
}
