/**
 * Tools: the registry validates arguments and turns every failure into a result the model reads;
 * the built-ins act through a recording fake of the call controls; HTTP tools call a real
 * endpoint on 127.0.0.1 that checks the signature itself.
 */

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { type AgentProfile, parseProfile, ProfileError } from "./agent_profile.ts";
import { agentToolSet, AgentToolSets } from "./agent_tools.ts";
import { sendSmsTool } from "./builtin_tools.ts";
import { Logger } from "../platform/log.ts";
import {
  type CallControls,
  type SmsSender,
  type Tool,
  type ToolCallInfo,
  type ToolContext,
  ToolError,
  type ToolResult,
  ToolSet,
} from "./tools.ts";

const CALLER = "+15550100123";
const LINE = "+15550100999";
const SECRET = "tools-signing-secret";

/** What the fake call controls and SMS sender were asked to do, in order. */
type Action = [string, unknown];

/** Call controls and an SMS sender that only record what they are asked to do. */
class RecordingCall implements CallControls, SmsSender {
  readonly actions: Action[] = [];
  endCall(detail: string): void {
    this.actions.push(["endCall", detail]);
  }
  transferToHuman(handoff: { number: string | null; summary: string }): void {
    this.actions.push(["transferToHuman", handoff]);
  }
  sendDigits(digits: string): void {
    this.actions.push(["sendDigits", digits]);
  }
  switchLanguage(language: string): void {
    this.actions.push(["switchLanguage", language]);
  }
  sent = 0;
  send(message: { to: string; body: string }): Promise<{ sid: string }> {
    this.actions.push(["sms", message]);
    this.sent++;
    return Promise.resolve({ sid: "SM0001" });
  }
}

/** A profile `test` from `agent.json` fields and a `tools.json` list. */
function profile(agent: Record<string, unknown>, tools: unknown[]): AgentProfile {
  return parseProfile({
    name: "test",
    agentJson: JSON.stringify(agent),
    instructions: "Help.",
    toolsJson: JSON.stringify(tools),
  });
}

/** A tool context over a {@link RecordingCall}, with `overrides`; `warnings` collects log lines. */
function context(
  overrides: Partial<Omit<ToolContext, "call">> & { call?: Partial<ToolCallInfo> } = {},
) {
  const recording = new RecordingCall();
  const warnings: Record<string, unknown>[] = [];
  const ctx: ToolContext = {
    profile: profile({}, []),
    controls: recording,
    sms: recording,
    handoffNumber: null,
    signal: new AbortController().signal,
    log: new Logger("warn", {}, (line) => warnings.push(JSON.parse(line))),
    ...overrides,
    call: {
      callSid: "CA0123456789abcdef0123456789abcdef",
      from: CALLER,
      to: LINE,
      direction: "inbound",
      agent: "test",
      mode: "relay",
      params: {},
      ...overrides.call,
    },
  };
  return { ctx, actions: recording.actions, warnings };
}

/** The error message of a failed result (fails if it succeeded). */
function errorOf(result: ToolResult): string {
  assert.equal(result.ok, false, `expected an error, got ${result.output}`);
  return (JSON.parse(result.output) as { error: string }).error;
}

/** The parsed output of a successful result (fails if it failed). */
function outputOf(result: ToolResult): unknown {
  assert.equal(result.ok, true, `expected success, got ${result.output}`);
  return JSON.parse(result.output);
}

/** A tool whose handler records its arguments and signal, and answers with `answer()`. */
function spyTool(answer: () => Promise<unknown>, extra: Partial<Tool> = {}) {
  const runs: { args: Record<string, unknown>; signal: AbortSignal }[] = [];
  const tool: Tool = {
    name: "spy",
    description: "Records its calls.",
    parameters: {
      type: "object",
      properties: { n: { type: "integer" }, label: { type: "string" } },
      required: ["n"],
      additionalProperties: false,
    },
    run(args, ctx) {
      runs.push({ args, signal: ctx.signal });
      return answer();
    },
    ...extra,
  };
  return { tool, runs };
}

Deno.test("ToolSet: bad arguments are an error result naming the problem; the handler does not run", async () => {
  const { tool, runs } = spyTool(() => Promise.resolve({ done: true }));
  const tools = new ToolSet([tool], 1000);
  const { ctx } = context();
  const cases: [string, string][] = [
    ["{n: 1", "The arguments are not valid JSON."],
    ["", "Invalid arguments: arguments must have required property 'n'"],
    ['{"label": "x"}', "Invalid arguments: arguments must have required property 'n'"],
    ['{"n": "five"}', "Invalid arguments: /n must be integer"],
    ['{"n": 1, "extra": true}', "Invalid arguments: arguments must NOT have additional properties"],
    ['{"n": 1.5, "label": 2}', "Invalid arguments: /n must be integer; /label must be string"],
    ["[1]", "Invalid arguments: arguments must be object"],
  ];
  for (const [json, message] of cases) {
    const result = await tools.call("spy", json, ctx);
    assert.equal(result.name, "spy");
    assert.equal(errorOf(result), message, json);
  }
  assert.equal(runs.length, 0);

  assert.deepEqual(outputOf(await tools.call("spy", '{"n": 2, "label": "ok"}', ctx)), {
    done: true,
  });
  assert.deepEqual(runs.map((r) => r.args), [{ n: 2, label: "ok" }]);
  assert.deepEqual(tools.declarations(), [{
    name: "spy",
    description: "Records its calls.",
    parameters: tool.parameters,
  }]);
});

Deno.test("ToolSet: an unknown tool, a throwing tool and an empty answer", async () => {
  const failing = new ToolSet([
    spyTool(() => Promise.reject(new Error("database down")), { name: "broken" }).tool,
    spyTool(() => Promise.reject(new ToolError("No slots that day.")), { name: "refusing" }).tool,
    spyTool(() => Promise.resolve(undefined), { name: "quiet" }).tool,
  ], 1000);
  const { ctx, warnings } = context();
  assert.equal(
    errorOf(await failing.call("nope", "{}", ctx)),
    'There is no tool named "nope".',
  );
  assert.equal(
    errorOf(await failing.call("broken", '{"n": 1}', ctx)),
    "The tool failed: Error: database down",
  );
  assert.equal(errorOf(await failing.call("refusing", '{"n": 1}', ctx)), "No slots that day.");
  assert.deepEqual(outputOf(await failing.call("quiet", '{"n": 1}', ctx)), { ok: true });
  assert.deepEqual(warnings.map((w) => [w.event, w.tool]), [
    ["tool.failed", "broken"],
    ["tool.failed", "refusing"],
  ]);
});

Deno.test("ToolSet: a tool slower than its timeout is a timeout error and its signal is aborted", async () => {
  const answer = Promise.withResolvers<unknown>();
  const own = spyTool(() => answer.promise, { timeoutMs: 30 });
  const byDefault = spyTool(() => answer.promise, { name: "slow_default" });
  const tools = new ToolSet([own.tool, byDefault.tool], 40);
  const { ctx } = context();
  try {
    assert.equal(
      errorOf(await tools.call("spy", '{"n": 1}', ctx)),
      "The tool did not answer within 30 ms.",
    );
    assert.equal(own.runs[0].signal.aborted, true);
    assert.equal(
      errorOf(await tools.call("slow_default", '{"n": 1}', ctx)),
      "The tool did not answer within 40 ms.",
    );
    assert.equal(byDefault.runs[0].signal.aborted, true);
  } finally {
    answer.resolve("too late");
  }
});

Deno.test("ToolSet: when the call moves on, the tool's signal is aborted and the result says so", async () => {
  const answer = Promise.withResolvers<unknown>();
  const started = Promise.withResolvers<void>();
  const { tool, runs } = spyTool(() => {
    started.resolve();
    return answer.promise;
  });
  const tools = new ToolSet([tool], 10_000);
  const call = new AbortController();
  const { ctx } = context({ signal: call.signal });
  try {
    const pending = tools.call("spy", '{"n": 1}', ctx);
    await started.promise;
    call.abort("hung up");
    assert.equal(errorOf(await pending), "The call moved on before the tool finished.");
    assert.equal(runs[0].signal.aborted, true);
    assert.equal(runs[0].signal.reason, "hung up");
  } finally {
    answer.resolve("too late");
  }
  // A call that already ended does not run the tool at all.
  assert.equal(
    errorOf(await tools.call("spy", '{"n": 1}', ctx)),
    "The call moved on before the tool finished.",
  );
  assert.equal(runs.length, 1);
});

Deno.test("calls of one profile version share its tool set; each call's bad arguments get their own errors", async () => {
  const sets = new AgentToolSets({ signingSecret: null, timeoutMs: 1000 });
  const v1 = profile({}, ["end_call"]);
  const shared = sets.for(v1);
  assert.equal(sets.for(v1), shared, "a second call of the same version reuses the set");
  const v2 = profile({}, ["end_call", "send_dtmf"]);
  assert.notEqual(sets.for(v2), shared);
  assert.deepEqual(sets.for(v2).declarations().map((d) => d.name), ["end_call", "send_dtmf"]);
  assert.deepEqual(shared.declarations().map((d) => d.name), ["end_call"]);
  // Two calls validating through the one shared schema: each sees its own problem.
  const dtmf = sets.for(v2);
  const [a, b] = await Promise.all([
    dtmf.call("send_dtmf", '{"digits": 5}', context().ctx),
    dtmf.call("send_dtmf", "{}", context().ctx),
  ]);
  assert.match(errorOf(a), /\/digits must be string/);
  assert.match(errorOf(b), /must have required property 'digits'/);
  assert.doesNotMatch(errorOf(b), /\/digits must be string/);
});

/** Every built-in tool; they read the profile they act for from the context. */
const BUILTINS = agentToolSet(
  profile({}, ["end_call", "transfer_to_human", "send_dtmf", "send_sms", "switch_language"]),
  { signingSecret: null, timeoutMs: 1000 },
);

Deno.test("end_call asks the call to end with the model's reason", async () => {
  const { ctx, actions } = context();
  const result = await BUILTINS.call("end_call", '{"reason": "caller said goodbye"}', ctx);
  assert.deepEqual(outputOf(result), { ok: true, note: "The call ends after your goodbye." });
  assert.deepEqual(actions, [["endCall", "caller said goodbye"]]);
  assert.match(errorOf(await BUILTINS.call("end_call", '{"reason": 3}', ctx)), /\/reason/);
  assert.equal(actions.length, 1);
});

Deno.test("transfer_to_human dials the profile's number, else the context's, else fails", async () => {
  const summary = '{"summary": "Wants a refund."}';
  const own = context({ handoffNumber: "+15550100300" });
  own.ctx.profile = profile({ handoffNumber: "+15550100200" }, []);
  await BUILTINS.call("transfer_to_human", summary, own.ctx);
  assert.deepEqual(own.actions, [[
    "transferToHuman",
    { number: "+15550100200", summary: "Wants a refund." },
  ]]);

  const fallback = context({ handoffNumber: "+15550100300" });
  await BUILTINS.call("transfer_to_human", summary, fallback.ctx);
  assert.deepEqual(fallback.actions, [[
    "transferToHuman",
    { number: "+15550100300", summary: "Wants a refund." },
  ]]);

  const nobody = context();
  assert.equal(
    errorOf(await BUILTINS.call("transfer_to_human", summary, nobody.ctx)),
    "Nobody is available to take the call; offer to help or take a message.",
  );
  assert.match(
    errorOf(await BUILTINS.call("transfer_to_human", "{}", fallback.ctx)),
    /required property 'summary'/,
  );
  assert.equal(nobody.actions.length + fallback.actions.length, 1);
});

Deno.test("send_dtmf plays digits matching its pattern and refuses others", async () => {
  const { ctx, actions } = context();
  assert.deepEqual(outputOf(await BUILTINS.call("send_dtmf", '{"digits": "12w#*"}', ctx)), {
    ok: true,
    sent: "12w#*",
  });
  for (const digits of ["12a", "", "1".repeat(33)]) {
    const message = errorOf(
      await BUILTINS.call("send_dtmf", JSON.stringify({ digits }), ctx),
    );
    assert.match(message, /^Invalid arguments: \/digits must match pattern/, digits);
  }
  assert.deepEqual(actions, [["sendDigits", "12w#*"]]);
});

/** The problems {@link ProfileError} lists for `run`; fails when it does not throw one. */
function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ProfileError) return err.problems;
    throw err;
  }
  assert.fail("the profile was accepted");
}

/** The send_sms of an agent with `sms` settings in agent.json. */
function smsTools(sms: Record<string, unknown>): ToolSet {
  return agentToolSet(profile({ sms }, ["send_sms"]), { signingSecret: null, timeoutMs: 1000 });
}

Deno.test("send_sms texts the caller (from inbound, to outbound) or a number the profile allows", async () => {
  const inbound = context();
  const result = await BUILTINS.call("send_sms", '{"body": "See you Tuesday."}', inbound.ctx);
  assert.deepEqual(outputOf(result), { ok: true, sid: "SM0001" });
  const allowing = smsTools({ allowTo: ["+15550100777"] });
  const outbound = context({ call: { direction: "outbound-api" } });
  await allowing.call("send_sms", '{"body": "Reminder."}', outbound.ctx);
  await allowing.call("send_sms", '{"body": "Copy.", "to": "+15550100777"}', outbound.ctx);
  assert.deepEqual([...inbound.actions, ...outbound.actions], [
    ["sms", { to: CALLER, body: "See you Tuesday." }],
    ["sms", { to: LINE, body: "Reminder." }],
    ["sms", { to: "+15550100777", body: "Copy." }],
  ]);
  // The allowed numbers are all the model is offered.
  const [declared] = allowing.declarations();
  assert.deepEqual(
    (declared.parameters.properties as Record<string, { enum?: string[] }>).to.enum,
    [
      "+15550100777",
    ],
  );
});

Deno.test("send_sms refuses SMS pumping: other numbers, more than the cap, over-long texts", async () => {
  const pumped = context();
  // The number a prompt-injected model was talked into: not the caller, not allowed.
  const evil = '{"to":"+882130000000","body":"Win a prize at http://evil.example"}';
  assert.match(errorOf(await BUILTINS.call("send_sms", evil, pumped.ctx)), /additional properties/);
  const listed = smsTools({ allowTo: ["+15550100777"] });
  assert.match(
    errorOf(await listed.call("send_sms", evil, pumped.ctx)),
    /\/to must be equal to one of/,
  );
  // Past the schema (a tool called directly): the run refuses too.
  const tool = sendSmsTool({ allowTo: [], maxPerCall: 3, maxLength: 480 });
  await assert.rejects(
    tool.run({ to: "+882130000000", body: "x" }, pumped.ctx),
    /This line texts only the caller/,
  );
  const capped = smsTools({ maxPerCall: 2, maxLength: 20 });
  const call = context();
  for (const text of ["one", "two", "three"]) {
    await capped.call("send_sms", JSON.stringify({ body: text }), call.ctx);
  }
  const third = await capped.call("send_sms", '{"body": "four"}', call.ctx);
  assert.equal(errorOf(third), "At most 2 texts can be sent on one call.");
  const long = await capped.call(
    "send_sms",
    JSON.stringify({ body: "x".repeat(21) }),
    context().ctx,
  );
  assert.match(errorOf(long), /\/body must NOT have more than 20 characters/);
  assert.deepEqual(call.actions.map(([, m]) => (m as { body: string }).body), ["one", "two"]);
  assert.deepEqual(pumped.actions, [], "nothing was texted to another number");
});

Deno.test("send_sms settings are validated, each problem named", () => {
  const problems = problemsOf(() =>
    profile({ sms: { allowTo: ["+1 555", 7], maxPerCall: 2.5, maxLength: 5000, cap: 1 } }, [])
  );
  assert.deepEqual(problems.sort(), [
    'assets/agents/test/agent.json: sms.allowTo[0] must be an E.164 number like +15550100 (got "+1 555")',
    "assets/agents/test/agent.json: sms.allowTo[1] must be an E.164 number like +15550100 (got 7)",
    "assets/agents/test/agent.json: sms.cap is not a known field (known: allowTo, maxPerCall, maxLength)",
    "assets/agents/test/agent.json: sms.maxLength must be a number from 1 to 1600 (got 5000)",
    "assets/agents/test/agent.json: sms.maxPerCall must be a whole number (got 2.5)",
  ]);
});

Deno.test("send_sms fails as a result without a sender, a textable number or a body", async () => {
  const body = '{"body": "Hi"}';
  const noSender = context({ sms: null });
  assert.equal(
    errorOf(await BUILTINS.call("send_sms", body, noSender.ctx)),
    "Text messages are not available on this line.",
  );
  const anonymous = context({ call: { from: "client:alice" } });
  assert.equal(
    errorOf(await BUILTINS.call("send_sms", body, anonymous.ctx)),
    "The caller's number cannot receive texts.",
  );
  assert.match(
    errorOf(await BUILTINS.call("send_sms", '{"body": ""}', anonymous.ctx)),
    /\/body must NOT have fewer than 1 characters/,
  );
  assert.deepEqual([...noSender.actions, ...anonymous.actions], []);
});

Deno.test("switch_language: on the relay path only the profile's languages, when it declares some", async () => {
  const multilingual = { language: "en-US", languages: [{ code: "es-ES" }] };
  const relay = context();
  relay.ctx.profile = profile(multilingual, []);
  for (const language of ["es-ES", "en-US"]) {
    const result = await BUILTINS.call(
      "switch_language",
      JSON.stringify({ language }),
      relay.ctx,
    );
    assert.deepEqual(outputOf(result), { ok: true, language });
  }
  assert.equal(
    errorOf(await BUILTINS.call("switch_language", '{"language": "fr-FR"}', relay.ctx)),
    "This line supports en-US, es-ES.",
  );
  assert.match(
    errorOf(await BUILTINS.call("switch_language", '{"language": "French"}', relay.ctx)),
    /\/language must match pattern/,
  );

  const realtime = context({ call: { mode: "realtime" } });
  realtime.ctx.profile = relay.ctx.profile;
  await BUILTINS.call("switch_language", '{"language": "fr-FR"}', realtime.ctx);
  const undeclared = context();
  await BUILTINS.call("switch_language", '{"language": "de-DE"}', undeclared.ctx);

  assert.deepEqual(relay.actions, [["switchLanguage", "es-ES"], ["switchLanguage", "en-US"]]);
  assert.deepEqual(realtime.actions, [["switchLanguage", "fr-FR"]]);
  assert.deepEqual(undeclared.actions, [["switchLanguage", "de-DE"]]);
});

/** One request as the endpoint saw it, with its own verdict on the signature. */
interface SeenRequest {
  method: string;
  path: string;
  search: string;
  body: string;
  headers: Headers;
  signatureValid: boolean;
}

/**
 * A business endpoint on 127.0.0.1 that verifies `X-Callbridge-Signature` itself (HMAC-SHA256 of
 * `<timestamp>.<body or query string>` with {@link SECRET}) and answers 401 when it is wrong.
 * `/slow` waits until {@link Endpoint.close}; `/fail` answers 500; `/text` answers plain text.
 */
class Endpoint {
  readonly seen: SeenRequest[] = [];
  readonly #held = Promise.withResolvers<void>();
  readonly #server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (req) => this.#handle(req),
  );
  readonly url = `http://127.0.0.1:${this.#server.addr.port}`;

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const body = await req.text();
    const timestamp = req.headers.get("x-callbridge-timestamp") ?? "";
    const signed = req.method === "GET" || req.method === "DELETE" ? url.search : body;
    const expected = `sha256=${
      createHmac("sha256", SECRET).update(`${timestamp}.${signed}`).digest("hex")
    }`;
    const signatureValid = req.headers.get("x-callbridge-signature") === expected;
    this.seen.push({
      method: req.method,
      path: url.pathname,
      search: url.search,
      body,
      headers: req.headers,
      signatureValid,
    });
    if (!signatureValid) return new Response("bad signature", { status: 401 });
    switch (url.pathname) {
      case "/slow":
        await this.#held.promise;
        return Response.json({ late: true });
      case "/fail":
        return new Response("database down", { status: 500 });
      case "/text":
        return new Response("Booked for Tuesday.", { headers: { "content-type": "text/plain" } });
      case "/redirect":
        // Bounces the tool inward: to a path no tool should ever read.
        return Response.redirect(`${this.url}/internal/secret`, 302);
      case "/internal/secret":
        return Response.json({ secret: "internal data" });
      case "/huge":
        return new Response(this.#huge(), { headers: { "content-type": "application/json" } });
      default:
        return Response.json({ received: body ? JSON.parse(body) : url.search });
    }
  }

  /** Bytes of `/huge` written before the client stopped reading, and whether it cancelled. */
  hugeSent = 0;
  hugeCancelled = Promise.withResolvers<void>();

  /** 20 MB of JSON-looking text, 64 KB at a time, for as long as the client reads. */
  #huge(): ReadableStream<Uint8Array> {
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    return new ReadableStream({
      pull: (controller) => {
        if (this.hugeSent >= 20 * 1024 * 1024) return controller.close();
        this.hugeSent += chunk.length;
        controller.enqueue(chunk);
      },
      cancel: () => this.hugeCancelled.resolve(),
    });
  }

  /** Lets `/slow` answer, then stops the server. */
  async close(): Promise<void> {
    this.#held.resolve();
    await this.#server.shutdown();
  }
}

/** Runs `fn` with a new {@link Endpoint} and tool context, closing the endpoint afterwards. */
async function withEndpoint(
  fn: (endpoint: Endpoint, ctx: ToolContext) => Promise<void>,
): Promise<void> {
  const endpoint = new Endpoint();
  try {
    await fn(endpoint, context().ctx);
  } finally {
    await endpoint.close();
  }
}

/** HTTP tools on `endpoint` + `path`, as a manifest declares them, signed with `secret`. */
function httpTools(
  endpoint: Endpoint,
  specs: { name: string; path: string; method?: string; timeoutMs?: number }[],
  { secret = SECRET }: { secret?: string | null } = {},
): ToolSet {
  const manifest = specs.map(({ path, ...spec }) => ({
    description: `Calls ${path}.`,
    parameters: {
      type: "object",
      properties: { date: { type: "string" }, party: { type: "integer" } },
    },
    url: `${endpoint.url}${path}`,
    ...spec,
  }));
  // The endpoint is on loopback: this profile may reach it (see the SSRF tests for the refusal).
  return agentToolSet(profile({ allowPrivateNetwork: true }, manifest), {
    signingSecret: secret,
    timeoutMs: 2000,
  });
}

Deno.test("HTTP tool: a signed JSON POST, and the endpoint's JSON answer goes to the model", () =>
  withEndpoint(async (endpoint, ctx) => {
    const args = { date: "2030-01-02", party: 2 };
    const before = Math.floor(Date.now() / 1000);
    const result = await httpTools(endpoint, [{ name: "book", path: "/book" }])
      .call("book", JSON.stringify(args), ctx);
    assert.deepEqual(outputOf(result), { received: args });
    const [seen] = endpoint.seen;
    assert.equal(seen.method, "POST");
    assert.equal(seen.signatureValid, true);
    assert.deepEqual(JSON.parse(seen.body), args);
    assert.equal(seen.search, "");
    assert.equal(seen.headers.get("content-type"), "application/json");
    assert.equal(seen.headers.get("x-callbridge-call-sid"), ctx.call.callSid);
    assert.equal(seen.headers.get("x-callbridge-agent"), "test");
    const timestamp = Number(seen.headers.get("x-callbridge-timestamp"));
    assert.ok(timestamp >= before && timestamp <= before + 5, `timestamp ${timestamp}`);

    const forged = await httpTools(endpoint, [{ name: "book", path: "/book" }], {
      secret: "wrong-secret",
    })
      .call("book", JSON.stringify(args), ctx);
    assert.equal(errorOf(forged), "The service answered HTTP 401: bad signature");
    const unsigned = await httpTools(endpoint, [{ name: "book", path: "/book" }], { secret: null })
      .call("book", JSON.stringify(args), ctx);
    assert.match(errorOf(unsigned), /HTTP 401/);
    assert.equal(endpoint.seen[2].headers.get("x-callbridge-signature"), null);
  }));

Deno.test("HTTP tool: GET sends the arguments in the signed query string", () =>
  withEndpoint(async (endpoint, ctx) => {
    const result = await httpTools(endpoint, [{ name: "slots", path: "/slots", method: "GET" }])
      .call("slots", '{"date": "2030-01-02", "party": 3}', ctx);
    assert.deepEqual(outputOf(result), { received: "?date=2030-01-02&party=3" });
    const [seen] = endpoint.seen;
    assert.equal(seen.method, "GET");
    assert.equal(seen.body, "");
    assert.equal(seen.signatureValid, true);
  }));

Deno.test("HTTP tool: a redirect is an error, never followed (SSRF), and the target is not read", () =>
  withEndpoint(async (endpoint, ctx) => {
    const result = await httpTools(endpoint, [{ name: "bounce", path: "/redirect" }])
      .call("bounce", "{}", ctx);
    assert.equal(
      errorOf(result),
      "The service answered with a redirect (HTTP 302), which tools do not follow.",
    );
    assert.deepEqual(endpoint.seen.map((r) => r.path), ["/redirect"]);
    assert.doesNotMatch(result.output, /internal data/);
  }));

Deno.test("HTTP tool: loopback, private and metadata addresses are refused unless the profile allows them", async () => {
  const endpoint = new Endpoint();
  try {
    const ctx = context().ctx;
    const manifest = (url: string) => [{ name: "peek", description: "Peeks.", url }];
    const strict = (url: string) =>
      agentToolSet(profile({}, manifest(url)), { signingSecret: SECRET, timeoutMs: 2000 });
    for (
      const url of [
        `${endpoint.url}/internal/secret`,
        "http://localhost:9/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/admin",
        "http://[::1]:9/",
        "http://[::ffff:127.0.0.1]:9/",
      ]
    ) {
      const result = await strict(url).call("peek", "{}", ctx);
      assert.match(errorOf(result), /^The tool's endpoint is refused: .*allowPrivateNetwork/, url);
    }
    assert.equal(endpoint.seen.length, 0, "no request was made");
    const allowed = agentToolSet(
      profile({ allowPrivateNetwork: true }, manifest(`${endpoint.url}/x`)),
      {
        signingSecret: SECRET,
        timeoutMs: 2000,
      },
    );
    assert.equal((await allowed.call("peek", "{}", ctx)).ok, true);
  } finally {
    await endpoint.close();
  }
});

Deno.test("HTTP tool: query parameters fixed in the manifest win over the model's; unknown arguments refused", () =>
  withEndpoint(async (endpoint, ctx) => {
    const tools = agentToolSet(
      profile({ allowPrivateNetwork: true }, [{
        name: "users",
        description: "Lists users.",
        method: "GET",
        url: `${endpoint.url}/users?role=readonly`,
        parameters: {
          type: "object",
          properties: { role: { type: "string" }, q: { type: "string" } },
        },
      }]),
      { signingSecret: SECRET, timeoutMs: 2000 },
    );
    const result = await tools.call("users", '{"role": "admin", "q": "ada"}', ctx);
    assert.deepEqual(outputOf(result), { received: "?role=readonly&q=ada" });
    // The schema did not say additionalProperties: arguments it does not name are refused.
    assert.match(
      errorOf(await tools.call("users", '{"admin": true}', ctx)),
      /additional properties/,
    );
    assert.equal(endpoint.seen.length, 1);
  }));

Deno.test("HTTP tool: at most 16 KB of an answer is read, then the stream is cancelled", () =>
  withEndpoint(async (endpoint, ctx) => {
    const result = await httpTools(endpoint, [{ name: "huge", path: "/huge" }]).call(
      "huge",
      "{}",
      ctx,
    );
    await endpoint.hugeCancelled.promise;
    // Socket buffers let the server run a little ahead, never to the end of the 20 MB.
    assert.ok(endpoint.hugeSent < 10 * 1024 * 1024, `${endpoint.hugeSent} bytes were produced`);
    assert.equal(JSON.parse(result.output).text.length, 16 * 1024);
  }));

Deno.test("HTTP tool: a slow endpoint is a timeout error result", () =>
  withEndpoint(async (endpoint, ctx) => {
    const result = await httpTools(endpoint, [{ name: "slow", path: "/slow", timeoutMs: 100 }])
      .call("slow", "{}", ctx);
    assert.equal(errorOf(result), "The tool did not answer within 100 ms.");
    assert.equal(endpoint.seen.length, 1, "the request reached the endpoint");
  }));

Deno.test("HTTP tool: a 500 is an error result with the status; a non-JSON answer is text", () =>
  withEndpoint(async (endpoint, ctx) => {
    const tools = httpTools(endpoint, [
      { name: "fail", path: "/fail" },
      { name: "text", path: "/text" },
    ]);
    assert.equal(
      errorOf(await tools.call("fail", "{}", ctx)),
      "The service answered HTTP 500: database down",
    );
    assert.deepEqual(outputOf(await tools.call("text", "{}", ctx)), {
      text: "Booked for Tuesday.",
    });
  }));
