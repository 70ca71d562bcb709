/**
 * Scenario runs end to end, over the real `/twilio/relay` socket of the real service, with the
 * fake OpenAI playing the agent (streamed replies), the caller and the judge (structured outputs,
 * each from its own script): a passing and a failing scenario, scripted key presses and an
 * interruption, a model-played caller with a judged check, a judge that fails (the scenario is an
 * error and the next one still runs), a run against an unsaved edit that leaves the live version
 * as it was, and the records tagged `scenario`, out of the dashboard's default list.
 */

import assert from "node:assert/strict";
import OpenAI from "openai";
import { SimulatorTokens } from "../lib/admin/simulator_token.ts";
import { parseScenario, type Scenario } from "../lib/scenarios/scenario.ts";
import {
  CALLER_FORMAT,
  JUDGE_FORMAT,
  type ScenarioModels,
} from "../lib/scenarios/scenario_models.ts";
import { runScenario, runScenarios } from "../lib/scenarios/scenario_run.ts";
import { localTarget } from "../lib/scenarios/scenario_target.ts";
import { eventually, type RelayHarness, relayHarness } from "./helpers/relay_harness.ts";

const TOOLS = ["end_call", "transfer_to_human", "send_dtmf", "send_sms", "switch_language"];

/** A scenario of the `default` agent from its file's JSON (parsed as the runner parses it). */
function scenario(name: string, json: Record<string, unknown>): Scenario {
  const file = `assets/agents/default/scenarios/${name}.json`;
  const parsed = parseScenario(JSON.stringify(json), { file, agent: "default", tools: TOOLS });
  if (!parsed.ok) throw new Error(parsed.problems.join("\n"));
  return parsed.scenario;
}

async function harness(): Promise<RelayHarness> {
  return await relayHarness({
    WELCOME_GREETING: "Hello, how can I help?",
    HANDOFF_NUMBER: "+15550100777",
    DTMF_DEBOUNCE_MS: "200",
  });
}

/**
 * The call's record once written as ended: a run's result comes with the call's end, which is
 * told as the record's last write starts.
 */
async function endedRecord(h: RelayHarness, callSid: string) {
  const store = h.svc.services.records.store;
  const ended = async () => (await store.findBySid(callSid))[0]?.endedAt != null;
  await eventually(ended, "the call's record written as ended");
  return (await store.findBySid(callSid))[0];
}

function runOptions(h: RelayHarness) {
  const services = { ...h.svc.services, tokens: new SimulatorTokens(h.svc.services.kv) };
  const models: ScenarioModels = {
    client: new OpenAI({ apiKey: h.fake.apiKey, baseURL: h.fake.baseUrl, maxRetries: 0 }),
    model: "gpt-test",
    api: "chat",
  };
  return { target: localTarget(services, h.svc.url), models, timeoutMs: 5000 };
}

const HANDS_OFF = {
  description: "asks for a person",
  caller: { turns: [{ say: "Can I talk to a person?" }] },
  checks: [
    { type: "tool_called", tool: "transfer_to_human", arguments: { required: ["summary"] } },
    { type: "tool_not_called", tool: "end_call" },
    { type: "ended", outcome: "live-agent-handoff" },
    { type: "transcript_contains", text: "connecting you" },
    { type: "latency_under", ms: 5000 },
  ],
};

Deno.test("a passing scenario: a real relay call, every check passes, the record is tagged", async () => {
  const h = await harness();
  try {
    h.fake.script(
      {
        tokens: ["Sure, ", "connecting you now."],
        toolCalls: [{ name: "transfer_to_human", arguments: '{"summary":"wants a person"}' }],
      },
      { tokens: [] },
    );
    const result = await runScenario(scenario("hands_off", HANDS_OFF), runOptions(h));
    assert.equal(result.error, null);
    assert.deepEqual(
      result.checks.map((c) => [c.name, c.status]),
      [
        ["transfer_to_human was called with matching arguments", "pass"],
        ["end_call not called", "pass"],
        ["ended live-agent-handoff", "pass"],
        ['the agent says "connecting you"', "pass"],
        ["turns under 5000 ms", "pass"],
      ],
    );
    assert.equal(result.status, "pass");
    // The agent heard the caller's words over the socket, as on a real call.
    const messages = h.fake.requests[0].body.messages as { role: string; content: string }[];
    assert.equal(messages.at(-1)?.content, "Can I talk to a person?");
    // Recorded like any other call, tagged, and out of the dashboard's default view.
    const record = await endedRecord(h, result.callSid!);
    assert.deepEqual(record.tags, ["scenario"]);
    assert.equal(record.outcome, "live-agent-handoff");
    const dashboard = await (await fetch(`${h.svc.url}/`)).text();
    assert.ok(
      !dashboard.includes(result.callSid!),
      "the dashboard lists a scenario run by default",
    );
    const runs = await (await fetch(`${h.svc.url}/?tag=scenario`)).text();
    assert.ok(runs.includes(result.callSid!), "the dashboard's scenario view lacks the run");
  } finally {
    await h.close();
  }
});

Deno.test("a failing scenario: the check that fails says what the call did instead", async () => {
  const h = await harness();
  try {
    h.fake.script(
      {
        tokens: ["Goodbye!"],
        toolCalls: [{ name: "end_call", arguments: '{"reason":"done"}' }],
      },
      { tokens: [] },
    );
    const result = await runScenario(scenario("hands_off", HANDS_OFF), runOptions(h));
    assert.equal(result.status, "fail");
    assert.deepEqual(result.checks.filter((c) => c.status === "fail").map((c) => c.detail), [
      "transfer_to_human was never called (called: end_call)",
      'end_call was called with {"reason":"done"}',
      "the call ended agent-ended",
      'nobody said "connecting you"',
    ]);
  } finally {
    await h.close();
  }
});

Deno.test("scripted key presses and an interruption reach the agent as Twilio sends them", async () => {
  const h = await harness();
  try {
    h.fake.script(
      { tokens: ["Let me tell you ", "all about ", "our opening hours"], holdAfter: 1 },
      { tokens: ["Sure, stopping."] },
      { tokens: ["Got your keys."] },
    );
    const interrupted = scenario("keys", {
      caller: {
        turns: [
          { say: "Tell me about your hours." },
          { say: "Stop, actually.", interrupt: true },
          { press: "12#" },
        ],
      },
      checks: [
        { type: "transcript_contains", text: "got your keys" },
        { type: "transcript_excludes", text: "opening hours" },
        { type: "transcript_contains", text: "stop, actually", role: "caller" },
      ],
    });
    const result = await runScenario(interrupted, runOptions(h));
    assert.equal(result.error, null);
    assert.equal(result.status, "pass", JSON.stringify(result.checks));
    // The cut reply's stream was closed; the keys came as one caller turn after the prompt.
    assert.notEqual(h.fake.requests[0].abortedAt, null);
    const last = h.fake.requests[2].body.messages as { role: string; content: string }[];
    assert.match(String(last.at(-1)?.content), /pressed the keys: 1 2 #/);
    const detail = await h.svc.services.records.store.getDetail(
      (await endedRecord(h, result.callSid!)).id,
    );
    assert.ok(detail!.transcript.some((t) => t.interrupted), "the cut turn is marked interrupted");
  } finally {
    await h.close();
  }
});

Deno.test("a model plays the caller and a judged check is scored with its reason", async () => {
  const h = await harness();
  try {
    h.fake.scriptStructured(
      {
        format: CALLER_FORMAT,
        json: { say: "Sorry, wrong number. Bye!", press: "", hangUp: false },
      },
      { format: JUDGE_FORMAT, json: { pass: true, reason: "The agent said goodbye kindly." } },
    );
    h.fake.script(
      { tokens: ["No problem, goodbye!"], toolCalls: [{ name: "end_call", arguments: "{}" }] },
      { tokens: [] },
    );
    const polite = scenario("polite", {
      caller: { persona: "A caller who dialled by mistake", goal: "Apologise and go", maxTurns: 3 },
      checks: [
        { type: "ended", outcome: "agent-ended" },
        { type: "judged", rubric: "The agent ended the call politely.", name: "polite" },
      ],
    });
    const result = await runScenario(polite, runOptions(h));
    assert.equal(result.error, null);
    assert.deepEqual(result.checks.map((c) => [c.name, c.status, c.detail]), [
      ["ended agent-ended", "pass", "the call ended agent-ended"],
      ["polite", "pass", "The agent said goodbye kindly."],
    ]);
    // The caller may be asked once more while the agent's goodbye ends the call: find by format.
    const formatOf = (r: { body: Record<string, unknown> }) =>
      (r.body.response_format as { json_schema: { name: string } }).json_schema.name;
    const caller = h.fake.structuredRequests.find((r) => formatOf(r) === CALLER_FORMAT)!;
    const judged = h.fake.structuredRequests.find((r) => formatOf(r) === JUDGE_FORMAT)!;
    const callerInput = JSON.stringify(caller.body.messages);
    assert.match(callerInput, /A caller who dialled by mistake/);
    assert.match(callerInput, /Agent: Hello, how can I help\?/); // the greeting Twilio spoke
    const judgeInput = JSON.stringify(judged.body.messages);
    assert.match(judgeInput, /The agent ended the call politely/);
    assert.match(judgeInput, /Caller: Sorry, wrong number. Bye!/);
    assert.match(judgeInput, /Agent: No problem, goodbye!/);
    assert.match(judgeInput, /end_call\(\{\}\)/);
    assert.match(judgeInput, /How the call ended: agent-ended/);
  } finally {
    await h.close();
  }
});

Deno.test("a judged check can fail too, with the judge's reason", async () => {
  const h = await harness();
  try {
    h.fake.scriptStructured({
      format: JUDGE_FORMAT,
      json: { pass: false, reason: "The agent never said goodbye." },
    });
    h.fake.script({ tokens: ["Bye."], toolCalls: [{ name: "end_call", arguments: "{}" }] }, {
      tokens: [],
    });
    const curt = scenario("curt", {
      caller: { turns: [{ say: "That's all." }] },
      checks: [{ type: "judged", rubric: "The agent said a friendly goodbye." }],
    });
    const result = await runScenario(curt, runOptions(h));
    assert.equal(result.status, "fail");
    assert.equal(result.checks[0].detail, "The agent never said goodbye.");
  } finally {
    await h.close();
  }
});

Deno.test("a model failure makes that scenario an error, not a failure, and the next runs", async () => {
  const h = await harness();
  try {
    h.fake.scriptStructured({ format: JUDGE_FORMAT, status: 500 });
    h.fake.script(
      { tokens: ["Hi there."] },
      {
        tokens: ["Connecting you."],
        toolCalls: [{ name: "transfer_to_human", arguments: '{"summary":"x"}' }],
      },
      { tokens: [] },
    );
    const judged = scenario("judged", {
      caller: { turns: [{ say: "Hello?" }] },
      checks: [{ type: "judged", rubric: "Friendly." }],
    });
    const done: string[] = [];
    const results = await runScenarios(
      [judged, scenario("hands_off", HANDS_OFF)],
      runOptions(h),
      { finished: (r) => done.push(`${r.scenario}: ${r.status}`) },
    );
    assert.deepEqual(done, ["judged: error", "hands_off: pass"]);
    assert.match(results[0].error!, /^the judge model failed: 500/);
    assert.deepEqual(results[0].checks, []);
  } finally {
    await h.close();
  }
});

Deno.test("a run against an unsaved edit uses the edit and leaves the live version as it was", async () => {
  const h = await harness();
  try {
    const profiles = h.svc.services.profiles;
    const before = await profiles.status("default");
    const live = await profiles.files("default");
    const draft = { ...live!.files, instructions: "You are the EDITED agent. Be brief." };
    h.fake.script({ tokens: ["Edited hello."] });
    const result = await runScenario(
      scenario("edit", {
        caller: { turns: [{ say: "Hi" }] },
        checks: [{ type: "transcript_contains", text: "edited hello" }],
      }),
      { ...runOptions(h), draft },
    );
    assert.equal(result.status, "pass", String(result.error));
    assert.equal(result.version, "edit");
    const messages = h.fake.requests[0].body.messages as { role: string; content: string }[];
    assert.match(messages[0].content, /You are the EDITED agent/);
    const after = await profiles.status("default");
    assert.equal(after.version, before.version);
    assert.equal(after.profile?.instructions, before.profile?.instructions);
    assert.deepEqual(await profiles.versions("default"), []);
    assert.doesNotMatch(after.profile!.instructions, /EDITED/);
  } finally {
    await h.close();
  }
});

Deno.test("the agent's own model failing on a turn makes the scenario an error", async () => {
  const h = await harness();
  try {
    h.fake.script({ status: 500 });
    const result = await runScenario(
      scenario("apology", {
        caller: { turns: [{ say: "Hello?" }] },
        checks: [{ type: "transcript_excludes", text: "zzz" }],
      }),
      runOptions(h),
    );
    assert.equal(result.status, "error");
    assert.equal(result.error, "the agent's model failed on 1 turn(s)");
    assert.deepEqual(result.checks, []);
  } finally {
    await h.close();
  }
});
