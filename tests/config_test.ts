/**
 * Configuration: defaults, validation errors that name the variable, and the real entry point
 * starting with no keys at all and failing fast on a bad value.
 */

import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../lib/platform/config.ts";
import { within } from "./helpers/relay_harness.ts";

Deno.test("defaults: the service configures itself with no variables at all", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8000);
  assert.equal(config.publicUrl, null);
  assert.equal(config.openai.apiKey, null);
  assert.equal(config.openai.baseUrl, "https://api.openai.com/v1");
  assert.equal(config.openai.api, "chat");
  assert.equal(config.openai.realtimeModel, "gpt-realtime");
  assert.equal(config.twilio.validateSignature, true);
  assert.equal(config.relay.language, "en-US");
  assert.equal(config.relay.interruptible, "any");
  assert.equal(config.relay.dtmfDetection, true);
  assert.ok(config.relay.welcomeGreeting.length > 0);
});

Deno.test("values are parsed and normalised", () => {
  const config = loadConfig({
    PORT: "9000",
    PUBLIC_URL: "https://abc.ngrok.app/",
    OPENAI_BASE_URL: "http://127.0.0.1:1234/v1/",
    OPENAI_API: "responses",
    TWILIO_VALIDATE_SIGNATURE: "false",
    WELCOME_GREETING: "",
    OPENAI_TURN_DETECTION: "semantic_vad",
    OPENAI_VAD_EAGERNESS: "high",
  });
  assert.equal(config.port, 9000);
  assert.equal(config.publicUrl, "https://abc.ngrok.app");
  assert.equal(config.openai.baseUrl, "http://127.0.0.1:1234/v1");
  assert.equal(config.openai.api, "responses");
  assert.equal(config.twilio.validateSignature, false);
  assert.equal(config.relay.welcomeGreeting, "", "an empty greeting turns it off");
  assert.deepEqual(config.openai.turnDetection, { type: "semantic_vad", eagerness: "high" });
});

Deno.test("every wrong variable is named with what is wrong, all at once", () => {
  let error: unknown;
  try {
    loadConfig({
      PORT: "eighty",
      PUBLIC_URL: "http://example.com",
      OPENAI_API: "completions",
      OPENAI_BASE_URL: "ftp://x",
      TWILIO_VALIDATE_SIGNATURE: "maybe",
      TWILIO_ACCOUNT_SID: "XY123",
      HANDOFF_NUMBER: "555-0100",
      OPENAI_VOICE: "robot",
    });
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ConfigError);
  const text = error.problems.join("\n");
  assert.equal(error.problems.length, 8, text);
  assert.match(text, /PORT must be a whole number from 0 to 65535 \(got "eighty"\)/);
  assert.match(text, /PUBLIC_URL must be the https:\/\/ base URL/);
  assert.match(text, /OPENAI_API must be one of chat, responses \(got "completions"\)/);
  assert.match(text, /OPENAI_BASE_URL must be a URL starting with http:\/\/ or https:\/\//);
  assert.match(text, /TWILIO_VALIDATE_SIGNATURE must be true or false/);
  assert.match(text, /TWILIO_ACCOUNT_SID must be AC followed by 32 hex/);
  assert.match(text, /HANDOFF_NUMBER must be an E.164 number/);
  assert.match(text, /OPENAI_VOICE must be one of/);
});

Deno.test("HOSTNAME: an IP literal or localhost to listen on; a machine name is refused", () => {
  const host = (value: string) => loadConfig({ HOSTNAME: value, PUBLIC_URL: "https://a.example" });
  assert.equal(host("0.0.0.0").hostname, "0.0.0.0");
  assert.equal(host("localhost").hostname, "localhost");
  assert.equal(host("::").hostname, "::");
  assert.equal(host("[::1]").hostname, "::1");
  assert.equal(host(" 10.0.0.7 ").hostname, "10.0.0.7");
  for (const name of ["vm", "my-laptop.local", "[vm]", "300.1.1.1"]) {
    assert.throws(() => host(name), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems.length, 1);
      assert.ok(
        err.problems[0].startsWith(`HOSTNAME must be an IP address to listen on`) &&
          err.problems[0].includes(`(got "${name}";`),
        err.problems[0],
      );
      return true;
    });
  }
  // Deno Deploy picks the address itself: its machine-name HOSTNAME is not an error there.
  const deploy = { DENO_DEPLOYMENT_ID: "d1", HOSTNAME: "vm", PUBLIC_URL: "https://a.example" };
  assert.equal(loadConfig(deploy).hostname, "vm");
});

Deno.test("SIP_TRUNK_AGENTS: number=agent pairs; a bad pair or a repeated number is named", () => {
  const agents =
    loadConfig({ SIP_TRUNK_AGENTS: " +15550100999=appointments, +15550100998=default" })
      .openai.sipTrunkAgents;
  assert.deepEqual([...agents], [["+15550100999", "appointments"], ["+15550100998", "default"]]);
  assert.equal(loadConfig({}).openai.sipTrunkAgents.size, 0);
  const problems = (value: string) => {
    try {
      loadConfig({ SIP_TRUNK_AGENTS: value });
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
    assert.fail(`${value} was accepted`);
  };
  assert.deepEqual(
    problems("5550100999=appointments,+15550100998=Bad Name,+15550100997"),
    [
      "5550100999=appointments",
      "+15550100998=Bad Name",
      "+15550100997",
    ].map((pair) =>
      "SIP_TRUNK_AGENTS must be comma-separated number=agent pairs, each number E.164 and each " +
      `agent a profile name, like +15550100999=appointments (got "${pair}")`
    ),
  );
  assert.deepEqual(problems("+15550100999=a,+15550100999=b"), [
    "SIP_TRUNK_AGENTS names +15550100999 twice",
  ]);
});

Deno.test("a malformed secret is reported without echoing it", () => {
  // Only pattern-checked secrets can be wrong; none of their values may appear in the message.
  const err = (() => {
    try {
      loadConfig({ TWILIO_ACCOUNT_SID: "ACsecretish" });
    } catch (e) {
      return e as ConfigError;
    }
  })();
  assert.ok(err);
  assert.match(err.message, /TWILIO_ACCOUNT_SID must be .*AC.*\(got a value of 11 characters\)/);
  assert.doesNotMatch(err.message, /secretish/);
});

/**
 * Runs main.ts as a subprocess with exactly `env` (plus PATH/HOME for Deno, and a KV in memory:
 * never the developer's `data/callbridge.kv`).
 */
function spawnMain(env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "main.ts"],
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      KV_PATH: ":memory:",
      ...env,
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("main.ts exits 1 on a bad variable, naming it", async () => {
  const child = spawnMain({ PORT: "70000", OPENAI_API: "nope" });
  const { code, stderr } = await within(child.output(), 30000, "main.ts exit");
  const text = new TextDecoder().decode(stderr);
  assert.equal(code, 1);
  assert.match(text, /PORT must be a whole number/);
  assert.match(text, /OPENAI_API must be one of chat, responses/);
});

Deno.test("main.ts starts with no keys: health answers and a call hears the apology", async () => {
  const child = spawnMain({ PORT: "0", HOSTNAME: "127.0.0.1", TWILIO_VALIDATE_SIGNATURE: "false" });
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let port = 0;
  let buffer = "";
  try {
    while (!port) {
      const { value, done } = await within(lines.read(), 30000, "server.listening log line");
      if (done) throw new Error("main.ts exited before listening");
      buffer += value;
      const match = buffer.match(/"event":"server.listening".*"port":(\d+)/);
      if (match) port = Number(match[1]);
    }
    const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
    assert.equal(health.status, "ok");
    assert.equal(health.openaiConfigured, false);
    const voice = await fetch(`http://127.0.0.1:${port}/twilio/voice`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "CallSid=CA1&From=%2B15550100123",
    });
    assert.match(await voice.text(), /<Say>Sorry, this assistant isn't set up yet/);
  } finally {
    child.kill("SIGTERM");
    await lines.cancel();
  }
  const warnings = await new Response(child.stderr).text();
  assert.match(warnings, /OPENAI_API_KEY is not set/);
  assert.match(warnings, /TWILIO_VALIDATE_SIGNATURE=false/);
  const status = await child.status;
  assert.equal(status.code, 0, `exit: ${JSON.stringify(status)}`);
});
