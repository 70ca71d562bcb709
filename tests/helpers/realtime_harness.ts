/**
 * The realtime path under test: the fake Realtime server, a fake Twilio REST API and the real
 * service wired to both, plus signed Media Streams clients.
 */

import type { Clock } from "../../lib/platform/clock.ts";
import { FakeRealtime, type FakeRealtimeOptions } from "../fakes/fake_realtime.ts";
import { FakeTwilioApi } from "../fakes/fake_twilio_api.ts";
import {
  MediaStreamsClient,
  type MediaStreamsClientOptions,
} from "../fakes/media_streams_client.ts";
import {
  postSigned,
  startService,
  TEST_AUTH_TOKEN,
  type TestService,
  twilioParameters,
} from "./service.ts";

/** Everything a realtime test talks to. */
export interface RealtimeHarness {
  fake: FakeRealtime;
  twilioApi: FakeTwilioApi;
  service: TestService;
  /** A signed stream client; `start` (default true) starts it as {@link start} does. */
  call(options?: MediaStreamsClientOptions & { start?: boolean }): Promise<MediaStreamsClient>;
  /**
   * What Twilio does for a call to `call.agent`: asks the voice webhook, then sends `connected`
   * and `start` with the TwiML's `<Parameter>`s (and any `extra` ones).
   */
  start(
    client: MediaStreamsClient,
    call?: { agent?: string; from?: string; to?: string; extra?: Record<string, string> },
  ): Promise<void>;
  /** Log lines with this `event`. */
  logs(event: string): Record<string, unknown>[];
  /**
   * What Twilio does once the service closed `client`'s stream: it requests the `<Connect
   * action>` URL (signed, with the call's parameters) and runs the TwiML it answers.
   */
  afterStream(client: MediaStreamsClient, callStatus?: string): Promise<string>;
  /**
   * Closes every stream and stops everything; then fails if the service sent a stream a message
   * Twilio would not act upon (see {@link MediaStreamsClient.invalid}), or a `session.update`
   * the Realtime API would reject (e.g. a tool declaration it refuses).
   */
  close(): Promise<void>;
}

/** Starts the fakes and the service (`env` on top of the realtime test defaults). */
export async function startRealtime(
  options: { fake?: FakeRealtimeOptions; env?: Record<string, string>; clock?: Clock } = {},
): Promise<RealtimeHarness> {
  const fake = new FakeRealtime(options.fake);
  const twilioApi = new FakeTwilioApi();
  const service = await startService({
    OPENAI_API_KEY: "sk-test-realtime",
    OPENAI_BASE_URL: fake.start(),
    TWILIO_API_BASE_URL: twilioApi.start(),
    DTMF_DEBOUNCE_MS: "150",
    VOICE_MODE: "realtime",
    ...options.env,
  }, { clock: options.clock });
  const clients: MediaStreamsClient[] = [];
  const webhook = (callSid: string, call: { agent?: string; from?: string; to?: string }) =>
    twilioParameters(service.url, {
      callSid,
      agent: call.agent,
      from: call.from,
      to: call.to,
      path: "/twilio/voice/realtime",
    });
  const harness: RealtimeHarness = {
    fake,
    twilioApi,
    service,
    async call(opts = {}) {
      // Twilio's order: the webhook first, then the socket its TwiML names.
      const callSid = opts.callSid ?? `CA${crypto.randomUUID().replaceAll("-", "")}`;
      const parameters = opts.start === false ? null : await webhook(callSid, {});
      const client = await MediaStreamsClient.connect(service.url, {
        authToken: TEST_AUTH_TOKEN,
        keepAudio: true,
        ...opts,
        callSid,
      });
      clients.push(client);
      if (parameters) client.start(parameters);
      return client;
    },
    async start(client, call = {}) {
      client.start({ ...await webhook(client.callSid, call), ...call.extra });
    },
    logs(event) {
      return service.logs.filter((line) => line.event === event);
    },
    async afterStream(client, callStatus = "in-progress") {
      await client.closed;
      const res = await postSigned(`${service.url}/twilio/stream/action`, {
        AccountSid: "AC00000000000000000000000000000000",
        CallSid: client.callSid,
        CallStatus: callStatus,
        Direction: "inbound",
        From: "+15550100123",
        To: "+15550100999",
      });
      if (res.status !== 200) throw new Error(`the action answered ${res.status}`);
      return await res.text();
    },
    async close() {
      await Promise.all(clients.map((c) => c.disconnect()));
      await service.close();
      await fake.close();
      await twilioApi.close();
      for (const client of clients) client.assertNoInvalid();
      const unknown = twilioApi.updates.filter((u) => u.status === 404);
      if (unknown.length > 0) {
        const sids = unknown.map((u) => u.callSid).join(", ");
        throw new Error(`the service updated calls Twilio does not have (404): ${sids}`);
      }
      const refused = fake.sessions.items.flatMap((s) =>
        s.errors.filter((e) => e.cause === "session.update")
      );
      if (refused.length > 0) {
        throw new Error(
          `the Realtime API would reject the service's session.update: ${
            refused.map((e) => `${e.param ?? "?"}: ${e.message}`).join("; ")
          }`,
        );
      }
    },
  };
  return harness;
}

/** `bytes` of silence-like µ-law numbered frames: frame `n` is 160 bytes that encode `n`. */
export function callerFrame(n: number): string {
  const bytes = new Uint8Array(160);
  for (let i = 0; i < 160; i++) bytes[i] = (n * 13 + i) & 0xff;
  return btoa(String.fromCharCode(...bytes));
}
