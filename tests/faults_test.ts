/**
 * Faults survived on the ConversationRelay path: OpenAI dropping, stalling, erroring or sending
 * garbage (refused connections: relay_session_test.ts) (the caller hears an apology and the record says what happened), KV failing
 * while a call runs, and a Twilio socket that disappears without a close frame.
 */

import assert from "node:assert/strict";
import twilio from "twilio";
import type { CallStore } from "../lib/records/call_store.ts";
import { APOLOGY } from "../lib/calls/phrases.ts";
import { newCallSid, type RelayClient } from "./fakes/relay_client.ts";
import { eventually, relayHarness, until, within } from "./helpers/relay_harness.ts";
import { TEST_AUTH_TOKEN, twilioParameters } from "./helpers/service.ts";

/** The error events recorded for `call` once its record is final. */
async function recordedErrors(store: CallStore, call: RelayClient): Promise<string[]> {
  await eventually(
    async () => (await store.findBySid(call.callSid))[0]?.outcome !== "live",
    "record completed",
  );
  const [record] = await store.findBySid(call.callSid);
  const detail = await store.getDetail(record.id);
  return detail!.events.filter((e) => e.type === "error").map((e) => e.summary);
}

for (const api of ["chat", "responses"] as const) {
  Deno.test(`${api}: every OpenAI fault gives an apology and lands in the record`, async () => {
    const h = await relayHarness({
      OPENAI_API: api,
      WELCOME_GREETING: "",
      OPENAI_TIMEOUT_MS: "300",
      LLM_MAX_FAILURES: "10",
    });
    try {
      h.fake.script(
        { status: 500 },
        { tokens: ["A ", "a"], breakAfter: 1 },
        { tokens: ["B ", "b"], stallAfter: 1 },
        { tokens: ["C "], errorEvent: true },
        { tokens: ["D "], garbage: true },
      );
      const call = await h.call();
      for (let i = 0; i < 5; i++) {
        call.prompt(`question ${i}`);
        const turn = await call.turn();
        assert.equal(turn.tokens.at(-1), APOLOGY, `fault #${i}: ${turn.tokens}`);
      }
      call.prompt("and now?");
      assert.equal((await call.turn()).text, "You said: and now?");
      await call.hangUp();
      const errors = await recordedErrors(h.svc.services.records.store, call);
      assert.equal(errors.length, 5, errors.join("\n"));
      assert.match(errors[0], /500/);
      assert.match(errors[2], /no data from the model for 300 ms/);
    } finally {
      await h.close();
    }
  });
}

Deno.test("KV write failures while a call runs: the call goes on, writes are retried", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    const store = h.svc.services.records.store;
    const putItems = store.putItems.bind(store);
    const putRecord = store.putRecord.bind(store);
    let down = true;
    store.putItems = (...args) =>
      down ? Promise.reject(new Error("KV is down")) : putItems(...args);
    store.putRecord = (...args) =>
      down ? Promise.reject(new Error("KV is down")) : putRecord(...args);
    const call = await h.call();
    for (const words of ["one", "two", "three"]) {
      call.prompt(words);
      assert.equal((await call.turn()).text, `You said: ${words}`);
    }
    await until(
      () => h.svc.logs.some((l) => l.event === "records.write_failed"),
      "the failure is logged",
    );
    down = false;
    await call.hangUp();
    await eventually(
      async () => (await store.findBySid(call.callSid))[0]?.outcome === "caller-hangup",
      "the record lands once KV is back",
      15_000,
    );
    const [record] = await store.findBySid(call.callSid);
    assert.equal((await store.getDetail(record.id))?.transcript.length, 6);
  } finally {
    await h.close();
  }
});

Deno.test("a Twilio socket dropped without a close frame ends the session and its LLM request", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    h.fake.script({ tokens: ["x ", "y "], holdAfter: 1 });
    const callSid = newCallSid();
    const customParameters = await twilioParameters(h.svc.url, {
      callSid,
      from: "+15550100123",
      to: "+15550100999",
      path: "/twilio/voice/relay",
    });
    const url = new URL(h.svc.url);
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const signature = twilio.getExpectedTwilioSignature(
      TEST_AUTH_TOKEN,
      `${h.svc.url.replace("http", "ws")}/twilio/relay`,
      {},
    );
    await conn.write(new TextEncoder().encode(
      `GET /twilio/relay HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nX-Twilio-Signature: ${signature}\r\n\r\n`,
    ));
    const buffer = new Uint8Array(1024);
    const n = await conn.read(buffer);
    assert.match(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), /^HTTP\/1.1 101/);
    for (
      const message of [
        {
          type: "setup",
          callSid,
          from: "+15550100123",
          to: "+15550100999",
          customParameters,
        },
        { type: "prompt", voicePrompt: "hello", last: true },
      ]
    ) {
      const payload = new TextEncoder().encode(JSON.stringify(message));
      const mask = crypto.getRandomValues(new Uint8Array(4));
      const frame = new Uint8Array([
        0x81,
        0x80 | 126,
        payload.length >> 8,
        payload.length & 0xff,
        ...mask,
      ]);
      const masked = payload.map((b, i) => b ^ mask[i % 4]);
      await conn.write(new Uint8Array([...frame, ...masked]));
    }
    const request = await within(h.fake.waitForRequests(1), 2000, "LLM request");
    conn.close(); // no close frame: the TCP connection just goes away
    await within(request.aborted, 2000, "upstream request aborted");
    await until(() => h.svc.services.registry.size === 0, "session disposed");
  } finally {
    await h.close();
  }
});
