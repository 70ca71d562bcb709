/**
 * Graceful drain of the real entry point (`main.ts` as its own process): on SIGTERM it stops
 * taking calls, lets live ones finish, flushes their records to KV and exits 0; a second signal
 * exits at once after flushing.
 */

import assert from "node:assert/strict";
import { BUSY } from "../lib/admission.ts";
import { CallStore } from "../lib/call_store.ts";
import { FakeOpenAI } from "./fakes/fake_openai.ts";
import { RelayClient } from "./fakes/relay_client.ts";
import { within } from "./helpers/relay_harness.ts";
import { postSigned } from "./helpers/service.ts";

const TOKEN = "drain-test-auth-token";

/** main.ts on a free port with a KV file; its stdout lines are parsed as they come. */
async function startMain(env: Record<string, string>) {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const url = `http://127.0.0.1:${port}`;
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/calls.kv`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "main.ts"],
    env: {
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
      PUBLIC_URL: url,
      KV_PATH: kvPath,
      TWILIO_AUTH_TOKEN: TOKEN,
      LOG_LEVEL: "info",
      WELCOME_GREETING: "",
      ...env,
    },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  let wake = () => {};
  const pump = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        lines.push(JSON.parse(buffer.slice(0, nl)));
        buffer = buffer.slice(nl + 1);
        wake();
      }
    }
  })();
  const logged = async (event: string) => {
    while (!lines.some((l) => l.event === event)) {
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  await within(logged("server.listening"), 30_000, "main.ts listening");
  return { child, url, kvPath, dir, lines, logged, pump };
}

/** Kills `child` if it still runs (a failed test must not leave it behind). */
function killQuietly(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // already exited
  }
}

function voice(url: string, params: Record<string, string>): Promise<Response> {
  return postSigned(`${url}/twilio/voice`, params, { authToken: TOKEN });
}

Deno.test("SIGTERM: no new calls, the live call finishes, its record is flushed, exit 0", async () => {
  const fake = new FakeOpenAI();
  const main = await startMain({
    OPENAI_API_KEY: fake.apiKey,
    OPENAI_BASE_URL: fake.start(),
    DRAIN_SECONDS: "30",
  });
  try {
    const call = await RelayClient.connect(main.url, { authToken: TOKEN });
    call.setup();
    call.prompt("before the signal");
    assert.equal((await call.turn()).text, "You said: before the signal");
    main.child.kill("SIGTERM");
    await within(main.logged("server.draining"), 10_000, "draining");
    // New calls are turned away …
    assert.match(await (await voice(main.url, { CallSid: "CA9" })).text(), new RegExp(BUSY));
    await assert.rejects(RelayClient.connect(main.url, { authToken: TOKEN }));
    // … the live one goes on …
    call.prompt("during the drain");
    assert.equal((await call.turn()).text, "You said: during the drain");
    // … and when it ends, the process exits cleanly.
    await call.hangUp();
    const status = await within(main.child.status, 15_000, "exit after the last call");
    assert.equal(status.code, 0);
    await main.pump;
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
    killQuietly(main.child);
    await main.child.status;
    await fake.close();
    await Deno.remove(main.dir, { recursive: true });
  }
});

Deno.test("a second signal exits at once, after flushing the live call's record", async () => {
  const fake = new FakeOpenAI();
  const main = await startMain({
    OPENAI_API_KEY: fake.apiKey,
    OPENAI_BASE_URL: fake.start(),
    DRAIN_SECONDS: "600",
  });
  try {
    const call = await RelayClient.connect(main.url, { authToken: TOKEN });
    call.setup();
    call.prompt("still talking");
    await call.turn();
    main.child.kill("SIGINT");
    await within(main.logged("server.draining"), 10_000, "draining");
    main.child.kill("SIGINT");
    const status = await within(main.child.status, 5_000, "exit within Deno Deploy's 5 s");
    assert.equal(status.code, 0);
    await main.pump;
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
    killQuietly(main.child);
    await main.child.status;
    await fake.close();
    await Deno.remove(main.dir, { recursive: true });
  }
});
