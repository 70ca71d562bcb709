/**
 * `deno task setup-number`: an owned number's voice webhook and status callback are pointed at
 * PUBLIC_URL through the real twilio SDK against the fake REST API; wrong flags and variables are
 * named; a dry run changes nothing; the real script exits 0 or 1 with what it did; an agent created
 * from the pages (in the service's KV) can be given a number, by the real script too.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type Config, loadConfig } from "../lib/platform/config.ts";
import {
  describeSetup,
  NumberSetupError,
  parseSetupArgs,
  setupNumber,
} from "../lib/outbound/number_setup.ts";
import { createTwilioApi } from "../lib/platform/twilio_api.ts";
import { createAgent } from "../lib/agents/agent_changes.ts";
import { readProfileFolders } from "../lib/agents/profile_folders.ts";
import { ProfileStore } from "../lib/agents/profile_store.ts";
import { Logger } from "../lib/platform/log.ts";
import { FakeTwilioApi, type OwnedNumber } from "./fakes/fake_twilio_api.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const AGENTS_DIR = fileURLToPath(new URL("../assets/agents", import.meta.url));
const PUBLIC_URL = "https://callbridge.example.com";
const NUMBER = "+15550100123";

/** A number the fake account owns, still pointing at some older app. */
function ownedNumber(): OwnedNumber {
  return {
    sid: "PN0123456789abcdef0123456789abcdef",
    phoneNumber: NUMBER,
    voiceUrl: "https://old.example.com/voice",
    voiceMethod: "GET",
    statusCallback: "",
    statusCallbackMethod: "GET",
  };
}

/** The env of a set-up against `fake` (credentials, PUBLIC_URL, the shipped profiles). */
function setupEnv(fake: FakeTwilioApi, baseUrl: string): Record<string, string> {
  return {
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: fake.authToken,
    TWILIO_API_BASE_URL: baseUrl,
    PUBLIC_URL,
    AGENTS_DIR,
    KV_PATH: ":memory:",
  };
}

/** Runs `fn` with a started fake that owns {@link ownedNumber}, closing it afterwards. */
async function withFake(
  fn: (fake: FakeTwilioApi, env: Record<string, string>) => Promise<void>,
): Promise<void> {
  const fake = new FakeTwilioApi();
  const baseUrl = fake.start();
  fake.numbers.push(ownedNumber());
  try {
    await fn(fake, setupEnv(fake, baseUrl));
  } finally {
    await fake.close();
  }
}

/** Runs {@link setupNumber} for `args` with `env` (and the service's `kv`), as the script does. */
function runSetup(env: Record<string, string>, args: string[], kv: Deno.Kv | null = null) {
  const config: Config = loadConfig(env);
  const client = createTwilioApi(config)?.client ?? null;
  return setupNumber({ config, client, kv }, parseSetupArgs(args));
}

/** A KV file (under data/, where the shipped permissions write) with agent `name` created in it. */
async function kvWithCreatedAgent(name: string, template: string) {
  await Deno.mkdir(`${ROOT}data`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${ROOT}data`, prefix: "test-setup-" });
  const path = `${dir}/callbridge.kv`;
  const kv = await Deno.openKv(path);
  const profiles = new ProfileStore(await readProfileFolders(AGENTS_DIR), { kv, dir: AGENTS_DIR });
  const log = new Logger("error", {}, () => {});
  const created = await createAgent(
    { profiles, kv, twilio: null, log, agentsDir: AGENTS_DIR },
    name,
    { template },
  );
  assert.ok(created.ok, JSON.stringify(created));
  return { kv, path, remove: () => Deno.remove(dir, { recursive: true }) };
}

/** The problems of the {@link NumberSetupError} `promise` rejects with. */
async function setupProblems(promise: Promise<unknown>): Promise<string[]> {
  const err = await promise.then(() => null, (e: unknown) => e);
  assert.ok(err instanceof NumberSetupError, `expected a NumberSetupError, got ${err}`);
  return err.problems;
}

Deno.test("setup points the number's voice webhook (POST) and status callback at PUBLIC_URL", async () => {
  await withFake(async (fake, env) => {
    const result = await runSetup(env, ["--number", NUMBER, "--agent", "appointments"]);
    const voiceUrl = `${PUBLIC_URL}/twilio/voice?agent=appointments`;
    assert.deepEqual(fake.numbers[0], {
      ...ownedNumber(),
      voiceUrl,
      voiceMethod: "POST",
      statusCallback: `${PUBLIC_URL}/twilio/status`,
      statusCallbackMethod: "POST",
    });
    assert.deepEqual(result, {
      sid: ownedNumber().sid,
      phoneNumber: NUMBER,
      applied: true,
      lookedUp: true,
      changes: [
        { field: "voiceUrl", before: "https://old.example.com/voice", after: voiceUrl },
        { field: "voiceMethod", before: "GET", after: "POST" },
        { field: "statusCallback", before: "", after: `${PUBLIC_URL}/twilio/status` },
        { field: "statusCallbackMethod", before: "GET", after: "POST" },
      ],
    });
    assert.equal(
      describeSetup(result),
      [
        `${NUMBER} (${ownedNumber().sid})`,
        `  voiceUrl: https://old.example.com/voice → ${voiceUrl}`,
        "  voiceMethod: GET → POST",
        `  statusCallback: (none) → ${PUBLIC_URL}/twilio/status`,
        "  statusCallbackMethod: GET → POST",
        "updated",
      ].join("\n"),
    );
  });
});

Deno.test("--mode pins the call path; the agent defaults to default; a second run changes nothing", async () => {
  await withFake(async (fake, env) => {
    for (const mode of ["relay", "realtime"]) {
      await runSetup(env, ["--number", NUMBER, "--mode", mode]);
      assert.equal(fake.numbers[0].voiceUrl, `${PUBLIC_URL}/twilio/voice/${mode}?agent=default`);
    }
    const again = await runSetup(env, ["--number", NUMBER, "--mode", "realtime"]);
    assert.deepEqual(again.changes, []);
    assert.equal(again.applied, false);
    assert.match(describeSetup(again), /nothing to change/);
  });
});

Deno.test("--mode sip points the number at /twilio/voice/sip, and needs OPENAI_PROJECT_ID", async () => {
  await withFake(async (fake, env) => {
    const args = ["--number", NUMBER, "--agent", "appointments", "--mode", "sip"];
    assert.deepEqual(await setupProblems(runSetup(env, args)), [
      'OPENAI_PROJECT_ID must be set for --agent "appointments" to answer over SIP ' +
      "(the proj_… id its calls are dialled to)",
    ]);
    assert.deepEqual(fake.numbers[0], ownedNumber());
    // VOICE_MODE=sip makes an agent without its own mode answer over SIP too.
    const sipDefault = { ...env, VOICE_MODE: "sip" };
    const unpinned = await setupProblems(runSetup(sipDefault, ["--number", NUMBER]));
    assert.match(unpinned[0], /^OPENAI_PROJECT_ID must be set for --agent "default"/);
    await runSetup({ ...env, OPENAI_PROJECT_ID: "proj_abc123" }, args);
    assert.equal(fake.numbers[0].voiceUrl, `${PUBLIC_URL}/twilio/voice/sip?agent=appointments`);
  });
});

Deno.test("--dry-run reports the changes and leaves the number as it was", async () => {
  await withFake(async (fake, env) => {
    const result = await runSetup(env, ["--number", NUMBER, "--dry-run"]);
    assert.deepEqual(fake.numbers[0], ownedNumber());
    assert.equal(result.applied, false);
    assert.deepEqual(result.changes.map((c) => c.field), [
      "voiceUrl",
      "voiceMethod",
      "statusCallback",
      "statusCallbackMethod",
    ]);
    assert.match(describeSetup(result), /dry run: nothing was changed/);
  });
});

Deno.test("a number the account does not own is named and nothing is changed", async () => {
  await withFake(async (fake, env) => {
    const problems = await setupProblems(runSetup(env, ["--number", "+15550100999"]));
    assert.equal(problems.length, 1);
    assert.match(
      problems[0],
      /--number \+15550100999 is not a phone number of Twilio account AC0+/,
    );
    assert.deepEqual(fake.numbers, [ownedNumber()]);
  });
});

Deno.test("credentials Twilio refuses are named", async () => {
  await withFake(async (fake, env) => {
    const problems = await setupProblems(
      runSetup({ ...env, TWILIO_AUTH_TOKEN: "wrong-token" }, ["--number", NUMBER]),
    );
    assert.deepEqual(problems, [
      "Twilio answered HTTP 401 (Authentication Error - invalid username): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
    ]);
    assert.deepEqual(fake.numbers, [ownedNumber()]);
  });
});

Deno.test("every wrong input is named at once: PUBLIC_URL, credentials, --number, --agent", async () => {
  const problems = await setupProblems(
    runSetup({ AGENTS_DIR }, ["--number", "555-0100", "--agent", "nobody"]),
  );
  assert.deepEqual(problems, [
    "PUBLIC_URL must be set to the https:// base URL Twilio reaches",
    "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set",
    '--number must be an E.164 number like +15550100 (got "555-0100")',
    `--agent "nobody" is not a profile in AGENTS_DIR ${AGENTS_DIR} nor created from the pages ` +
    "(known: appointments, default)",
  ]);
  const http = await setupProblems(
    runSetup({ PUBLIC_URL: "http://127.0.0.1:8000", AGENTS_DIR }, ["--number", NUMBER]),
  );
  assert.match(
    http[0],
    /^PUBLIC_URL must start with https:\/\/ \(got "http:\/\/127\.0\.0\.1:8000"\)/,
  );
});

Deno.test("an agent created from the pages gets a number; its own mode counts; others are named", async () => {
  const store = await kvWithCreatedAgent("sales-line", "realtime");
  try {
    await withFake(async (fake, env) => {
      await runSetup(env, ["--number", NUMBER, "--agent", "sales-line"], store.kv);
      assert.equal(fake.numbers[0].voiceUrl, `${PUBLIC_URL}/twilio/voice?agent=sales-line`);
      // A name not created is unknown; the created ones are listed beside the shipped ones.
      const unknown = await setupProblems(
        runSetup(env, ["--number", NUMBER, "--agent", "sales-lin"], store.kv),
      );
      assert.deepEqual(unknown, [
        `--agent "sales-lin" is not a profile in AGENTS_DIR ${AGENTS_DIR} nor created from the ` +
        "pages (known: appointments, default, sales-line)",
      ]);
      // Without the service's KV the created agent itself is unknown.
      const noKv = await setupProblems(
        runSetup(env, ["--number", NUMBER, "--agent", "sales-line"], null),
      );
      assert.deepEqual(noKv, [
        `--agent "sales-line" is not a profile in AGENTS_DIR ${AGENTS_DIR} nor created from the ` +
        "pages (known: appointments, default)",
      ]);
      const sip = await setupProblems(
        runSetup(env, ["--number", NUMBER, "--agent", "sales-line", "--mode", "sip"], store.kv),
      );
      assert.match(sip[0], /^OPENAI_PROJECT_ID must be set for --agent "sales-line"/);
      // Saved with its own mode "sip", it answers over SIP without --mode: it needs the project.
      const profiles = new ProfileStore(await readProfileFolders(AGENTS_DIR), {
        kv: store.kv,
        dir: AGENTS_DIR,
      });
      const current = (await profiles.files("sales-line"))!.files;
      const agentJson = JSON.stringify({ ...JSON.parse(current.agentJson), mode: "sip" });
      assert.equal((await profiles.save("sales-line", { ...current, agentJson })).ok, true);
      assert.deepEqual(
        await setupProblems(runSetup(env, ["--number", NUMBER, "--agent", "sales-line"], store.kv)),
        [
          'OPENAI_PROJECT_ID must be set for --agent "sales-line" to answer over SIP ' +
          "(the proj_… id its calls are dialled to)",
        ],
      );
    });
  } finally {
    store.kv.close();
    await store.remove();
  }
});

Deno.test("flags: --number is required, --mode is relay, realtime or sip, unknown flags are refused", () => {
  const problems = (args: string[]) => {
    try {
      parseSetupArgs(args);
    } catch (err) {
      if (err instanceof NumberSetupError) return err.problems;
      throw err;
    }
    assert.fail(`${args.join(" ")} was accepted`);
  };
  assert.deepEqual(problems(["--mode", "phone"]), [
    "--number is required",
    '--mode must be relay, realtime or sip (got "phone")',
  ]);
  assert.match(problems(["--number", NUMBER, "--agnet", "x"])[0], /--agnet/);
  assert.deepEqual(parseSetupArgs(["--number", NUMBER, "--agent", "appointments", "--dry-run"]), {
    number: NUMBER,
    agent: "appointments",
    mode: null,
    dryRun: true,
  });
});

/** Runs `deno task setup-number` with `env` only; returns its exit code and output. */
async function runTask(env: Record<string, string>, args: string[]) {
  const inherited: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "NO_COLOR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) inherited[name] = value;
  }
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "setup-number", ...args],
    cwd: ROOT,
    env: { ...inherited, NO_COLOR: "1", ...env },
    clearEnv: true,
    stdin: "null",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("the real script: exit 0 and before → after lines; exit 1 naming the unknown number", async () => {
  await withFake(async (fake, env) => {
    const ok = await runTask(env, ["--number", NUMBER, "--mode", "relay"]);
    assert.equal(ok.code, 0, ok.stderr);
    const voiceUrl = `${PUBLIC_URL}/twilio/voice/relay?agent=default`;
    assert.ok(ok.stdout.includes(`voiceUrl: https://old.example.com/voice → ${voiceUrl}`));
    assert.ok(ok.stdout.includes("voiceMethod: GET → POST"));
    assert.equal(fake.numbers[0].voiceUrl, voiceUrl);

    const missing = await runTask(env, ["--number", "+15550100999"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--number \+15550100999 is not a phone number of Twilio account/);
    assert.match(missing.stderr, /usage: deno task setup-number/);
  });
});

Deno.test("the real script reads the agents created in KV_PATH, and creates no KV file", async () => {
  const store = await kvWithCreatedAgent("front-desk", "relay");
  store.kv.close();
  try {
    await withFake(async (fake, env) => {
      const args = ["--number", NUMBER, "--agent", "front-desk"];
      const ok = await runTask({ ...env, KV_PATH: store.path }, args);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(fake.numbers[0].voiceUrl, `${PUBLIC_URL}/twilio/voice?agent=front-desk`);
      // A KV_PATH with no database yet: no agent was created there, and none is made.
      const fresh = store.path.replace(/callbridge\.kv$/, "none.kv");
      const missing = await runTask({ ...env, KV_PATH: fresh }, args);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /--agent "front-desk" is not a profile/);
      await assert.rejects(Deno.stat(fresh), Deno.errors.NotFound);
    });
  } finally {
    await store.remove();
  }
});

Deno.test("--help prints what the task sets and exits 0, whatever else is missing", async () => {
  for (const flag of ["--help", "-h"]) {
    const help = await runTask({}, [flag]);
    assert.equal(help.code, 0, help.stderr);
    assert.ok(help.stdout.startsWith("usage: deno task setup-number --number"), help.stdout);
    assert.match(help.stdout, /voiceUrl {8}PUBLIC_URL\/twilio\/voice\[\/<mode>\]\?agent=NAME/);
    assert.match(help.stdout, /statusCallback {2}PUBLIC_URL\/twilio\/status \(HTTP POST\)/);
    assert.match(help.stdout, /--dry-run .*works without Twilio credentials/);
    assert.equal(help.stderr.includes("error"), false, help.stderr);
  }
});

Deno.test("--dry-run without credentials prints every value it would set and exits 0", async () => {
  const dry = await runTask({ PUBLIC_URL, AGENTS_DIR }, [
    "--number",
    NUMBER,
    "--agent",
    "appointments",
    "--dry-run",
  ]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(dry.stdout.trimEnd().split("\n"), [
    `${NUMBER} (not looked up: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set)`,
    `  voiceUrl: → ${PUBLIC_URL}/twilio/voice?agent=appointments`,
    "  voiceMethod: → POST",
    `  statusCallback: → ${PUBLIC_URL}/twilio/status`,
    "  statusCallbackMethod: → POST",
    "dry run: nothing was changed",
  ]);
  // Without --dry-run the missing credentials are an error, as before.
  const real = await runTask({ PUBLIC_URL, AGENTS_DIR }, ["--number", NUMBER]);
  assert.equal(real.code, 1);
  assert.match(real.stderr, /TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set/);
  // A dry run still checks what it can: PUBLIC_URL and the number.
  const bad = await runTask({ AGENTS_DIR }, ["--number", "555", "--dry-run"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /PUBLIC_URL must be set/);
  assert.match(bad.stderr, /--number must be an E\.164 number/);
});
