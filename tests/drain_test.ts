/**
 * Graceful drain of the real entry point (`main.ts` as its own process): on SIGTERM it stops
 * taking calls, lets live ones finish, flushes their records to KV and exits 0; a second signal
 * exits at once after flushing.
 */

import assert from "node:assert/strict";
import { BUSY } from "../lib/calls/phrases.ts";
import { CallStore } from "../lib/records/call_store.ts";
import { FakeOpenAI } from "./fakes/fake_openai.ts";
import { RelayClient } from "./fakes/relay_client.ts";
import { within } from "./helpers/relay_harness.ts";
import { startMain } from "./helpers/main_process.ts";
import { postSigned, twilioParameters } from "./helpers/service.ts";

const TOKEN = "drain-test-auth-token";

/** The shipped main.ts with the drain tests' settings. */
function startDrainable(env: Record<string, string>) {
  return startMain({ TWILIO_AUTH_TOKEN: TOKEN, WELCOME_GREETING: "", ...env });
}

/** The `<Parameter>`s Twilio would send on `call`'s socket. */
function callParameters(url: string, call: RelayClient): Promise<Record<string, string>> {
  return twilioParameters(url, {
    callSid: call.callSid,
    from: call.from,
    to: call.to,
    authToken: TOKEN,
    path: "/twilio/voice/relay",
  });
}

function voice(url: string, params: Record<string, string>): Promise<Response> {
  return postSigned(`${url}/twilio/voice`, params, { authToken: TOKEN });
}

Deno.test("SIGTERM: no new calls, the live call finishes, its record is flushed, exit 0", async () => {
  const fake = new FakeOpenAI();
  const main = await startDrainable({
    OPENAI_API_KEY: fake.apiKey,
    OPENAI_BASE_URL: fake.start(),
    DRAIN_SECONDS: "30",
  });
  try {
    const call = await RelayClient.connect(main.url, { authToken: TOKEN });
    call.setup(await callParameters(main.url, call));
    call.prompt("before the signal");
    assert.equal((await call.turn()).text, "You said: before the signal");
    main.child.kill("SIGTERM");
    await main.logged("server.draining", { timeoutMs: 10_000 });
    // New calls are turned away …
    assert.match(await (await voice(main.url, { CallSid: "CA9" })).text(), new RegExp(BUSY));
    await assert.rejects(RelayClient.connect(main.url, { authToken: TOKEN }));
    // … the live one goes on …
    call.prompt("during the drain");
    assert.equal((await call.turn()).text, "You said: during the drain");
    // … and when it ends, the process exits cleanly.
    await call.hangUp();
    const status = await within(main.exited, 15_000, "exit after the last call");
    assert.equal(status.code, 0);
    const kv = await Deno.openKv(main.kvPath);
    try {
      const [record] = await new CallStore(kv).findBySid(call.callSid);
      assert.equal(record.outcome, "caller-hangup");
      const detail = await new CallStore(kv).getDetail(record.id);
      assert.deepEqual(detail?.transcript.map((t) => t.text), [
        "before the signal",
        "You said: before the signal",
        "during the drain",
        "You said: during the drain",
      ]);
    } finally {
      kv.close();
    }
    assert.ok(main.lines.some((l) => l.event === "server.stopped" && l.drained === true));
  } finally {
    await main.close();
    await fake.close();
  }
});

Deno.test("DRAIN_SECONDS: a call live at the deadline ends as shutdown; exit 0", async () => {
  const fake = new FakeOpenAI();
  const main = await startDrainable({
    OPENAI_API_KEY: fake.apiKey,
    OPENAI_BASE_URL: fake.start(),
    DRAIN_SECONDS: "2",
  });
  try {
    const call = await RelayClient.connect(main.url, { authToken: TOKEN });
    call.setup(await callParameters(main.url, call));
    call.prompt("before the signal");
    assert.equal((await call.turn()).text, "You said: before the signal");
    const signalled = performance.now();
    main.child.kill("SIGTERM");
    await main.logged("server.draining", { timeoutMs: 10_000 });
    // The call goes on during the drain …
    call.prompt("during the drain");
    assert.equal((await call.turn()).text, "You said: during the drain");
    // … until the deadline, which ends it from the service's side (the caller never hangs up).
    const end = await call.next((m) => m.type === "end", 10_000);
    const waited = performance.now() - signalled;
    assert.equal(JSON.parse(String(end.handoffData)).reason, "shutdown");
    // Real time: main.ts's drain timer is a real one. It starts after the signal, so the end
    // can come no sooner than DRAIN_SECONDS after it.
    assert.ok(waited >= 1990, `ended ${Math.round(waited)} ms after the signal, not 2 s`);
    const status = await within(main.exited, 10_000, "exit after the deadline");
    assert.equal(status.code, 0);
    const timeout = main.lines.find((l) => l.event === "server.drain_timeout");
    assert.equal(timeout?.liveCalls, 1);
    assert.ok(main.lines.some((l) => l.event === "server.stopped" && l.drained === false));
    const kv = await Deno.openKv(main.kvPath);
    try {
      const [record] = await new CallStore(kv).findBySid(call.callSid);
      assert.equal(record.outcome, "shutdown");
      const detail = await new CallStore(kv).getDetail(record.id);
      assert.equal(detail?.transcript.length, 4, "the turns of the drain were recorded too");
    } finally {
      kv.close();
    }
  } finally {
    await main.close();
    await fake.close();
  }
});

Deno.test("a second signal exits at once, after flushing the live call's record", async () => {
  const fake = new FakeOpenAI();
  const main = await startDrainable({
    OPENAI_API_KEY: fake.apiKey,
    OPENAI_BASE_URL: fake.start(),
    DRAIN_SECONDS: "600",
  });
  try {
    const call = await RelayClient.connect(main.url, { authToken: TOKEN });
    call.setup(await callParameters(main.url, call));
    call.prompt("still talking");
    await call.turn();
    main.child.kill("SIGINT");
    await main.logged("server.draining", { timeoutMs: 10_000 });
    main.child.kill("SIGINT");
    const status = await within(main.exited, 5_000, "exit within Deno Deploy's 5 s");
    assert.equal(status.code, 0);
    await call.closed;
    const kv = await Deno.openKv(main.kvPath);
    try {
      const [record] = await new CallStore(kv).findBySid(call.callSid);
      assert.equal(record.outcome, "shutdown");
      const detail = await new CallStore(kv).getDetail(record.id);
      assert.equal(detail?.transcript.length, 2);
    } finally {
      kv.close();
    }
  } finally {
    await main.close();
    await fake.close();
  }
});
