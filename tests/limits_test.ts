/**
 * Limits on the ConversationRelay path and the HTTP surface: concurrent calls, message size, idle
 * sockets, call duration, body size, a second socket for the same call. Every hit is logged.
 */

import assert from "node:assert/strict";
import { BUSY, TIME_LIMIT } from "../lib/calls/phrases.ts";
import type { RelaySession } from "../lib/relay/relay_session.ts";
import { RelayClient } from "./fakes/relay_client.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { relayHarness, until } from "./helpers/relay_harness.ts";
import {
  postSigned,
  TEST_AUTH_TOKEN,
  type TestService,
  twilioParameters,
} from "./helpers/service.ts";

function limitHits(svc: TestService, limit: string): number {
  return svc.logs.filter((l) => l.event === "limit.hit" && l.limit === limit).length;
}

function voice(svc: TestService, body: string | Record<string, string>): Promise<Response> {
  return typeof body === "string"
    ? postSigned(`${svc.url}/twilio/voice`, {}, { body })
    : postSigned(`${svc.url}/twilio/voice`, body);
}

Deno.test("over MAX_CONCURRENT_CALLS: the webhook says all lines are busy, sockets are refused", async () => {
  const h = await relayHarness({ MAX_CONCURRENT_CALLS: "1" });
  try {
    const first = await h.call();
    const res = await voice(h.svc, { CallSid: "CA2", From: "+15550100222" });
    assert.match(await res.text(), new RegExp(`<Say>${BUSY}</Say><Hangup/>`));
    await assert.rejects(RelayClient.connect(h.svc.url, { authToken: TEST_AUTH_TOKEN }));
    assert.equal(limitHits(h.svc, "max_concurrent_calls"), 2);
    // The call that was taken is unaffected.
    first.prompt("still here?");
    assert.equal((await first.turn()).text, "You said: still here?");
  } finally {
    await h.close();
  }
});

Deno.test("an oversized message is dropped and counted; the call goes on", async () => {
  const h = await relayHarness({ MAX_WS_MESSAGE_BYTES: "1024", WELCOME_GREETING: "" });
  try {
    const call = await h.call();
    call.prompt("x".repeat(5000));
    call.prompt("short one");
    assert.equal((await call.turn()).text, "You said: short one");
    assert.equal(limitHits(h.svc, "max_message_bytes"), 1);
  } finally {
    await h.close();
  }
});

Deno.test("a socket that never sends setup is closed after the set-up timeout", async () => {
  const clock = new FakeClock();
  const h = await relayHarness({ TWILIO_SETUP_TIMEOUT_SECONDS: "5" }, { clock });
  try {
    const idle = await RelayClient.connect(h.svc.url, { authToken: TEST_AUTH_TOKEN });
    await until(() => h.svc.services.registry.size === 1, "session created");
    const session = h.svc.services.registry.list()[0] as RelaySession;
    // `tick` runs the due timers synchronously: what the session did is readable right after.
    clock.tick(4_999);
    assert.equal(limitHits(h.svc, "setup_timeout"), 0, "nothing before 5 s");
    assert.equal(session.endReason, null);
    clock.tick(1);
    assert.equal(limitHits(h.svc, "setup_timeout"), 1, "the limit at 5 s");
    assert.equal(session.endReason, "setup-timeout");
    await idle.closed;
    await until(() => h.svc.services.registry.size === 0, "session gone");
  } finally {
    await h.close();
  }
});

Deno.test("MAX_CALL_SECONDS: the caller hears a goodbye, then the call ends", async () => {
  const clock = new FakeClock();
  const h = await relayHarness({ MAX_CALL_SECONDS: "60", WELCOME_GREETING: "" }, { clock });
  try {
    const call = await h.call();
    call.prompt("hello");
    await call.turn();
    // The agent is still speaking: no silence reminder gets in the way.
    call.speaking("agent", true);
    call.send({ type: "info", name: "sync-limit" });
    await until(
      () => h.svc.logs.some((l) => l.event === "relay.info" && l.name === "sync-limit"),
      "frames handled",
    );
    clock.tick(60_000);
    assert.equal((await call.turn()).text, TIME_LIMIT);
    call.speaking("agent", false);
    const end = await call.next((m) => m.type === "end");
    assert.equal(JSON.parse(String(end.handoffData)).reason, "max-duration");
    assert.equal(limitHits(h.svc, "max_call_seconds"), 1);
  } finally {
    await h.close();
  }
});

Deno.test("a request body over MAX_BODY_BYTES gets 413", async () => {
  const h = await relayHarness({ MAX_BODY_BYTES: "2048" });
  try {
    const res = await voice(h.svc, `CallSid=CA1&Junk=${"x".repeat(4096)}`);
    assert.equal(res.status, 413);
    await res.body?.cancel();
    assert.equal(limitHits(h.svc, "max_body_bytes"), 1);
  } finally {
    await h.close();
  }
});

Deno.test("a second socket for the same call supersedes the first", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    const first = await h.call();
    first.prompt("one");
    await first.turn();
    const second = await RelayClient.connect(h.svc.url, { authToken: TEST_AUTH_TOKEN });
    const parameters = await twilioParameters(h.svc.url, {
      callSid: first.callSid,
      from: second.from,
      to: second.to,
      path: "/twilio/voice/relay",
    });
    second.setup(parameters, { callSid: first.callSid });
    const end = await first.next((m) => m.type === "end");
    assert.equal(JSON.parse(String(end.handoffData)).reason, "superseded");
    second.prompt("two");
    assert.equal((await second.turn()).text, "You said: two");
    await until(() => h.svc.services.registry.size === 1, "one live session for the call");
    await second.hangUp();
  } finally {
    await h.close();
  }
});
