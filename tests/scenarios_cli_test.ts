/**
 * `deno task scenarios` as a user runs it, in its own process: against a running service with
 * `--url` and the admin password, a passing and a failing scenario give a progress line each, a
 * summary table, JUnit XML in which the failing check is the failure, and exit code 1, and the
 * runs are the deployment's last runs on its scenarios page (a run it cannot take is refused
 * naming why); the same
 * passing scenario alone exits 0 in the default mode (the service in the runner's own process);
 * and a malformed scenario file is named with its field before anything runs.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { XMLParser } from "fast-xml-parser";
import { eventually, relayHarness } from "./helpers/relay_harness.ts";
import { lastRuns } from "../lib/scenarios/scenario_runs.ts";

const SCRIPT = fileURLToPath(new URL("../scripts/scenarios.ts", import.meta.url));
const SHIPPED = fileURLToPath(new URL("../assets/agents", import.meta.url));
const PASSWORD = "scenario-admin-password-123";

/** An agents folder with the shipped `default` profile and the given scenario files. */
async function agentsDir(scenarios: Record<string, unknown>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "scenario_agents_" });
  await Deno.mkdir(`${dir}/default/scenarios`, { recursive: true });
  for (const file of ["agent.json", "instructions.md", "tools.json"]) {
    await Deno.copyFile(`${SHIPPED}/default/${file}`, `${dir}/default/${file}`);
  }
  await Deno.copyFile(`${SHIPPED}/agent.schema.json`, `${dir}/agent.schema.json`);
  for (const [name, json] of Object.entries(scenarios)) {
    const text = typeof json === "string" ? json : JSON.stringify(json, null, 2);
    await Deno.writeTextFile(`${dir}/default/scenarios/${name}.json`, text);
  }
  return dir;
}

async function runCli(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, ...args],
    env: { NO_COLOR: "1", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

const HANDS_OFF = {
  caller: { turns: [{ say: "Can I talk to a person?" }] },
  checks: [
    { type: "tool_called", tool: "transfer_to_human" },
    { type: "ended", outcome: "live-agent-handoff" },
  ],
};
const ENDS = {
  description: "ends the call itself",
  caller: { turns: [{ say: "That is all, bye." }] },
  checks: [
    { type: "transcript_contains", text: "bye" },
    { type: "tool_called", tool: "end_call" },
  ],
};
const HANDS_OFF_REPLIES = [
  {
    tokens: ["Connecting you."],
    toolCalls: [{ name: "transfer_to_human", arguments: '{"summary":"x"}' }],
  },
  { tokens: [] },
];

Deno.test("--url: a pass and a fail, JUnit names the failing check, exit code 1", async () => {
  const dir = await agentsDir({ a_hands_off: HANDS_OFF, b_ends: ENDS });
  const h = await relayHarness({
    AGENTS_DIR: dir,
    ADMIN_PASSWORD: PASSWORD,
    HANDOFF_NUMBER: "+15550100777",
    WELCOME_GREETING: "",
  });
  const junit = `${dir}/junit.xml`;
  try {
    h.fake.script(...HANDS_OFF_REPLIES, { tokens: ["Okay, bye now."] });
    const { code, stdout, stderr } = await runCli(
      ["--url", h.svc.url, "--agent", "default", "--junit", junit],
      { AGENTS_DIR: dir, ADMIN_PASSWORD: PASSWORD, KV_PATH: ":memory:" },
    );
    assert.equal(code, 1, `${stdout}\n${stderr}`);
    const lines = stdout.split("\n");
    assert.ok(lines.some((l) => /^✓ default\/a_hands_off {2}pass {2}2\/2 checks/.test(l)), stdout);
    assert.ok(lines.some((l) => /^✗ default\/b_ends {2}fail {2}1\/2 checks/.test(l)), stdout);
    assert.ok(
      lines.includes(
        "    failed: end_call was called — end_call was never called (no tool was called)",
      ),
      stdout,
    );
    assert.match(stdout, /agent +scenario +result +checks +seconds/);
    assert.match(stdout, /2 scenarios: 1 passed, 1 failed, 0 errors/);
    const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" })
      .parse(await Deno.readTextFile(junit));
    const suites = xml.testsuites;
    assert.equal(suites.tests, "2");
    assert.equal(suites.failures, "1");
    assert.equal(suites.errors, "0");
    const [pass, fail] = suites.testsuite.testcase;
    assert.equal(pass.name, "a_hands_off");
    assert.equal(pass.failure, undefined);
    assert.equal(fail.name, "b_ends");
    assert.equal(fail.failure.message, "1 of 2 checks failed: end_call was called");
    assert.equal(
      fail.failure["#text"],
      "end_call was called — end_call was never called (no tool was called)",
    );
    assert.match(fail["system-out"], new RegExp(`transcript: ${h.svc.url}/calls/CA[0-9a-f]{32}`));
    // The runs are on the deployment's dashboard, among its scenario runs only.
    const auth = { authorization: `Basic ${btoa(`admin:${PASSWORD}`)}` };
    // Each run ends with its call, as its record's last write starts.
    const scenarioRuns = () => h.svc.services.records.store.list({ tag: "scenario" });
    await eventually(
      async () => (await scenarioRuns()).filter((r) => r.endedAt !== null).length === 2,
      "both runs' records written as ended",
    );
    const runs = await scenarioRuns();
    assert.equal(runs.length, 2);
    const page = await (await fetch(`${h.svc.url}/`, { headers: auth })).text();
    assert.ok(runs.every((r) => !page.includes(r.callSid!)), "scenario runs on the default view");
    // Reported to the deployment: its scenarios page shows them as the last runs.
    const last = await lastRuns(h.svc.services.kv, "default");
    assert.deepEqual([...last.keys()].sort(), ["a_hands_off", "b_ends"]);
    assert.equal(last.get("b_ends")!.status, "fail");
    assert.ok(runs.some((r) => r.callSid === last.get("a_hands_off")!.callSid));
    const scenariosPage = await (await fetch(`${h.svc.url}/agents/default/scenarios`, {
      headers: auth,
    })).text();
    assert.match(scenariosPage, /data-scenario="b_ends" data-status="fail"/);

    // What the deployment refuses to keep, and why.
    const report = (agent: string, body: unknown) =>
      fetch(`${h.svc.url}/agents/${agent}/scenarios/runs`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const good = last.get("a_hands_off")!;
    assert.deepEqual(await report("default", { ...good, status: "maybe", extra: 1 }), {
      status: 422,
      body: {
        error: "not a scenario run",
        problems: [
          "(top level) must NOT have additional properties",
          "status must be equal to one of the allowed values",
        ],
      },
    });
    assert.deepEqual(await report("default", { ...good, scenario: "nope" }), {
      status: 404,
      body: { error: 'agent "default" has no scenario "nope"' },
    });
    assert.deepEqual(await report("default", { ...good, agent: "other" }), {
      status: 422,
      body: { error: 'the run is of agent "other", not "default"' },
    });
    assert.deepEqual(await report("nobody", good), {
      status: 404,
      body: { error: 'there is no agent "nobody"' },
    });
    assert.equal((await lastRuns(h.svc.services.kv, "default")).get("a_hands_off")!.status, "pass");
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the default mode runs the service in the runner's process: a pass exits 0", async () => {
  const dir = await agentsDir({ a_hands_off: HANDS_OFF });
  // Only the fake OpenAI is needed: the service itself runs in the runner.
  const h = await relayHarness();
  try {
    h.fake.script(...HANDS_OFF_REPLIES);
    const { code, stdout, stderr } = await runCli(["--scenario", "a_*"], {
      AGENTS_DIR: dir,
      KV_PATH: `${dir}/scenarios.kv`,
      OPENAI_API_KEY: h.fake.apiKey,
      OPENAI_BASE_URL: h.fake.baseUrl,
      OPENAI_MODEL: "gpt-test",
      HANDOFF_NUMBER: "+15550100777",
    });
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(stdout, /1 scenario\(s\) against this process/);
    assert.match(stdout, /✓ default\/a_hands_off {2}pass {2}2\/2 checks/);
    assert.match(stdout, /1 scenarios: 1 passed, 0 failed, 0 errors/);
    assert.equal(h.fake.requests.length, 2);
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a malformed scenario file is named with its field, and nothing runs", async () => {
  const dir = await agentsDir({
    good: HANDS_OFF,
    bad: { caller: { turns: [{ say: "hi" }] }, checks: [{ type: "tool_called", tool: "fly" }] },
  });
  try {
    const { code, stderr } = await runCli([], { AGENTS_DIR: dir, KV_PATH: ":memory:" });
    assert.equal(code, 1);
    assert.match(
      stderr,
      new RegExp(`${dir}/default/scenarios/bad.json: checks\\[0\\].tool "fly" is not a tool`),
    );
    assert.match(stderr, /usage: deno task scenarios/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
