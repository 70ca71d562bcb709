/**
 * The service in SIP mode for the SIP suites: the fake SIP and Live APIs beside the fake Realtime
 * one, what Twilio does for a call (asks `/twilio/voice/sip`, whose `<Dial><Sip>` URI carries
 * the call's `X-Callbridge-*` headers), and OpenAI's webhook deliveries, signed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { FakeLive } from "../fakes/fake_live.ts";
import { FakeSip, signWebhook, TEST_WEBHOOK_SECRET } from "../fakes/fake_sip.ts";
import type { Clock } from "../../lib/platform/clock.ts";
import { type RealtimeHarness, startRealtime } from "./realtime_harness.ts";
import { postSigned, TEST_ACCOUNT_SID } from "./service.ts";

/** The OpenAI project the SIP URI dials. */
export const SIP_PROJECT = "proj_test123";

/** The service in SIP mode (`env` on top), with the fakes it talks to. */
export async function startSip(
  env: Record<string, string> = {},
  options: { clock?: Clock } = {},
): Promise<{ h: RealtimeHarness; sip: FakeSip; live: FakeLive }> {
  const h = await startRealtime({
    clock: options.clock,
    env: {
      VOICE_MODE: "sip",
      OPENAI_PROJECT_ID: SIP_PROJECT,
      OPENAI_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      HANDOFF_NUMBER: "+15550100200",
      ...env,
    },
  });
  const sip = new FakeSip();
  h.fake.sip = sip;
  const live = new FakeLive();
  h.fake.live = live;
  return { h, sip, live };
}

/** What Twilio does for a call to `agent` in SIP mode: asks the voice webhook; the URI's headers. */
export async function dialedHeaders(
  h: RealtimeHarness,
  agent: string,
): Promise<Record<string, string>> {
  const res = await postSigned(`${h.service.url}/twilio/voice/sip?agent=${agent}`, {
    AccountSid: TEST_ACCOUNT_SID,
    CallSid: `CA${crypto.randomUUID().replaceAll("-", "")}`,
    From: "+15550100123",
    To: "+15550100999",
    Direction: "inbound",
  });
  assert.equal(res.status, 200);
  const twiml = await res.text();
  const uri = twiml.match(/<Dial><Sip>([^<]+)<\/Sip><\/Dial>/)?.[1];
  assert.ok(uri, twiml);
  const [target, query] = uri.replaceAll("&amp;", "&").split("?");
  assert.equal(target, `sip:${SIP_PROJECT}@sip.api.openai.com;transport=tls`);
  return Object.fromEntries(query.split("&").map((pair) => pair.split("=")));
}

/** Delivers `event` to the service's webhook, signed unless `headers` are given. */
export async function deliver(
  h: RealtimeHarness,
  event: unknown,
  headers?: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const body = JSON.stringify(event);
  const res = await fetch(`${h.service.url}/openai/webhook`, {
    method: "POST",
    headers: headers ?? signWebhook(body, TEST_WEBHOOK_SECRET),
    body,
  });
  return { status: res.status, text: await res.text() };
}

/**
 * A call to `agent` on `surface`, as it arrives: Twilio dials (the voice webhook's URI and its
 * headers), OpenAI delivers the surface's webhook event, and the service has handled it. Returns
 * both surfaces' events of the call (the other one undelivered).
 */
export async function callIn(
  h: RealtimeHarness,
  sip: FakeSip,
  surface: "live" | "realtime",
  agent = "default",
): Promise<ReturnType<FakeSip["incoming"]>> {
  const events = sip.incoming(await dialedHeaders(h, agent));
  await deliver(h, events[surface]);
  await h.service.services.sipWebhook.idle();
  return events;
}
