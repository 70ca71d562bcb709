/**
 * The end-of-call webhook survives a crash: `main.ts` runs as shipped (its own process, the
 * `start` task's permissions, a KV file), a relay call ends, the receiver refuses the first two
 * attempts, the process is killed (SIGKILL: nothing flushed, nothing said) while the delivery
 * waits for its next retry, and a new process on the same KV file delivers it, signed, with the
 * same idempotency key.
 */

import assert from "node:assert/strict";
import { FakeOpenAI } from "./fakes/fake_openai.ts";
import { RelayClient } from "./fakes/relay_client.ts";
import { WebhookReceiver } from "./fakes/webhook_receiver.ts";
import { type MainProcess, startMain } from "./helpers/main_process.ts";
import { TEST_AUTH_TOKEN, twilioParameters } from "./helpers/service.ts";

const SECRET = "restart-secret-41c7";

Deno.test("a failing delivery is delivered by the next process after a kill", async () => {
  const receiver = new WebhookReceiver(SECRET);
  const openai = new FakeOpenAI();
  const env = {
    OPENAI_API_KEY: openai.apiKey,
    OPENAI_BASE_URL: openai.start(),
    OPENAI_MODEL: "gpt-test",
    TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
    WELCOME_GREETING: "",
    CALL_WEBHOOK_URL: receiver.url,
    WEBHOOK_SIGNING_SECRET: SECRET,
    // Long enough after the second failure for the kill to land first.
    WEBHOOK_RETRY_SCHEDULE_MS: "50,2000,2000",
  };
  let first: MainProcess | null = null;
  let second: MainProcess | null = null;
  try {
    first = await startMain(env);
    receiver.answer(500, 500);
    const call = await RelayClient.connect(first.url, { authToken: TEST_AUTH_TOKEN });
    call.setup(
      await twilioParameters(first.url, {
        callSid: call.callSid,
        from: call.from,
        to: call.to,
        path: "/twilio/voice/relay",
      }),
    );
    call.prompt("Hello there");
    assert.equal((await call.turn()).text, "You said: Hello there");
    await call.hangUp();
    const firstProcess = first;
    await first.logged("webhook.failed", { where: (l) => l.attempts === 2 });
    assert.deepEqual(receiver.deliveries.items.map((d) => d.answered), [500, 500]);
    firstProcess.child.kill("SIGKILL");
    assert.equal((await firstProcess.exited).signal, "SIGKILL");

    second = await startMain({ ...env, KV_PATH: first.kvPath });
    const delivered = await receiver.deliveries.waitFor((d) => d.answered === 200, {
      what: "the delivery by the restarted process",
      timeoutMs: 15_000,
    });
    await second.logged("webhook.delivered", { where: (l) => l.attempts === 3 });
    assert.equal(receiver.deliveries.items.length, 3);
    const keys = new Set(receiver.deliveries.items.map((d) => d.headers.get("idempotency-key")));
    assert.equal(keys.size, 1, "one idempotency key: the record id");
    assert.ok(receiver.deliveries.items.every((d) => d.verified), "each attempt signed");
    assert.equal(delivered.json.callSid, call.callSid);
    assert.equal(delivered.json.id, [...keys][0]);
    const transcript = delivered.json.transcript as { role: string; text: string }[];
    assert.deepEqual(transcript[0], {
      role: "caller",
      text: "Hello there",
      at: transcript[0] && (transcript[0] as unknown as { at: string }).at,
    });
  } finally {
    await second?.close();
    await first?.close();
    await openai.close();
    await receiver.close();
  }
});
