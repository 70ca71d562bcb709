/**
 * Replies over a fake host (scripted Llm, FakeClock, recorded `send`): what Twilio is sent for a
 * completed reply, for one cut by an interrupt or superseded by a new prompt, for a failure and
 * for an empty reply; the metrics each leaves in `turns`; and the FILLER sentence a slow tool
 * brings after `toolFillerMs` (never for a fast tool or a reply already aborted).
 */

import assert from "node:assert/strict";
import { FakeClock } from "../../tests/helpers/fake_clock.ts";
import { parseProfile } from "../agents/agent_profile.ts";
import { type CallControls, type Tool, type ToolCallInfo, ToolSet } from "../agents/tools.ts";
import type { CallContext } from "../calls/call_context.ts";
import type { ToolEvent, TranscriptEntry } from "../calls/call_types.ts";
import { FILLER } from "../calls/phrases.ts";
import { Logger } from "../platform/log.ts";
import type { RelayOutbound } from "../protocols/conversation_relay.ts";
import { HeardHistory } from "./heard_history.ts";
import { ScriptedLlm, token, usage } from "../../tests/fakes/scripted_llm.ts";
import type { ToolCallRequest } from "./llm.ts";
import { Replies, type RepliesHost } from "./replies.ts";

const FILLER_MS = 1000;
const PROMPT = "When are you open?";
const LOOKUP: ToolCallRequest = { id: "call_1", name: "lookup", arguments: '{"q":"hours"}' };

/** Resolves when `promise` does or `signal` aborts, whichever is first. */
function until(signal: AbortSignal, promise: Promise<unknown>): Promise<unknown> {
  return Promise.race([
    promise,
    new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true })),
  ]);
}

/** Lets pending promise callbacks run until `done()` holds (no timers involved). */
async function settle(done: () => boolean = () => false, turns = 200): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await Promise.resolve();
}

const noControls: CallControls = {
  endCall() {},
  transferToHuman() {},
  sendDigits() {},
  switchLanguage() {},
};

const CALL: ToolCallInfo = {
  callSid: "CA00000000000000000000000000000001",
  from: "+15550100123",
  to: "+15550100999",
  direction: "inbound",
  agent: "test",
  mode: "relay",
  params: {},
};

/** A `lookup` tool whose answer the test gives; `started` resolves when it runs. */
function slowLookup() {
  const started = Promise.withResolvers<AbortSignal>();
  const answer = Promise.withResolvers<unknown>();
  const tool: Tool = {
    name: "lookup",
    description: "Looks a fact up.",
    parameters: { type: "object" },
    run: (_args, context) => {
      started.resolve(context.signal);
      return answer.promise;
    },
  };
  return { tool, started: started.promise, answer };
}

/** Replies over a fake host; what it sends and reports is kept in arrays. */
function harness(options: { tools?: Tool[]; ending?: boolean } = {}) {
  const clock = new FakeClock();
  const history = new HeardHistory();
  history.caller(PROMPT);
  const sent: RelayOutbound[] = [];
  const outcomes: [string, unknown][] = [];
  const lines: Record<string, unknown>[] = [];
  const log = new Logger("debug", {}, (line) => lines.push(JSON.parse(line)));
  const profile = parseProfile({
    name: "test",
    agentJson: "{}",
    instructions: "Help.",
    toolsJson: null,
  });
  const context: CallContext = {
    profile,
    call: CALL,
    instructions: "You answer for the clinic.",
    greeting: "",
    tools: new ToolSet(options.tools ?? [], 60_000),
  };
  const finished = Promise.withResolvers<void>();
  const transcript: TranscriptEntry[] = [];
  const toolEvents: ToolEvent[] = [];
  const host: RepliesHost = {
    clock,
    history,
    transcript,
    toolEvents,
    toolFillerMs: FILLER_MS,
    send: (message) => sent.push(message),
    log: () => log,
    record: () => null,
    context: () => context,
    toolContext: (signal) => ({
      call: CALL,
      profile,
      controls: noControls,
      sms: null,
      handoffNumber: null,
      signal,
      log,
    }),
    ending: () => options.ending ?? false,
    replied: (text) => {
      outcomes.push(["replied", text]);
      finished.resolve();
    },
    failed: (err) => {
      outcomes.push(["failed", err]);
      finished.resolve();
    },
  };
  const replies = new Replies(host);
  return { clock, history, sent, outcomes, lines, replies, transcript, toolEvents, finished, host };
}

/** `turns` with the real-time latency checked and left out. */
function metricsOf(replies: Replies): unknown[] {
  return replies.turns.map(({ firstTokenMs, ...rest }) => {
    if (firstTokenMs !== null) assert.ok(firstTokenMs >= 0);
    return { ...rest, latency: firstTokenMs === null ? null : "measured" };
  });
}

const text = (token: string, last = false): RelayOutbound => ({ type: "text", token, last });

Deno.test("a completed reply: its tokens, an empty last token, replied(text)", async () => {
  const h = harness();
  const startedAt = h.clock.now();
  h.replies.start(new ScriptedLlm([[token("We open"), token(" at nine."), usage(12, 4)]]));
  assert.equal(h.replies.idle, false);
  await h.finished.promise;
  assert.deepEqual(h.sent, [text("We open"), text(" at nine."), text("", true)]);
  assert.deepEqual(h.outcomes, [["replied", "We open at nine."]]);
  assert.equal(h.replies.idle, true);
  assert.deepEqual(h.transcript, [{ role: "agent", text: "We open at nine.", at: startedAt }]);
  assert.deepEqual(metricsOf(h.replies), [
    { startedAt, outcome: "completed", inputTokens: 12, outputTokens: 4, latency: "measured" },
  ]);
  assert.deepEqual(h.history.turns, [
    { role: "user", content: PROMPT },
    { role: "assistant", content: "We open at nine." },
  ]);
  assert.equal(h.clock.pending, 0);
});

Deno.test("an interrupt mid-reply closes it with an empty last token, nothing after", async () => {
  const h = harness();
  const gate = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<void>();
  h.replies.start(
    new ScriptedLlm([async function* () {
      try {
        yield token("We open");
        await gate.promise;
        // The stream goes on regardless: the cut reply must not send it.
        yield token(" at nine.");
      } finally {
        closed.resolve();
      }
    }]),
  );
  await settle(() => h.sent.length > 0);
  assert.deepEqual(h.sent, [text("We open")]);
  h.replies.abort("interrupted");
  assert.equal(h.replies.idle, true);
  assert.deepEqual(h.sent, [text("We open"), text("", true)]);
  gate.resolve();
  await closed.promise;
  await settle();
  assert.deepEqual(h.sent, [text("We open"), text("", true)]);
  assert.deepEqual(h.outcomes, []);
  assert.deepEqual(metricsOf(h.replies), [
    { startedAt: h.clock.now(), outcome: "interrupted", latency: "measured" },
  ]);
  assert.deepEqual(h.transcript.map((t) => t.text), ["We open"]);
});

Deno.test("an interrupt before any token sends Twilio nothing", async () => {
  const h = harness();
  const closed = Promise.withResolvers<void>();
  h.replies.start(
    new ScriptedLlm([async function* (request) {
      try {
        await until(request.signal, new Promise(() => {}));
        yield token("late");
      } finally {
        closed.resolve();
      }
    }]),
  );
  await settle();
  h.replies.abort("interrupted");
  await closed.promise;
  await settle();
  assert.deepEqual(h.sent, []);
  assert.deepEqual(h.outcomes, []);
  assert.deepEqual(metricsOf(h.replies), [
    { startedAt: h.clock.now(), outcome: "interrupted", latency: null },
  ]);
  assert.deepEqual(h.transcript, []);
});

Deno.test("abort on an idle Replies, or twice, does nothing more", async () => {
  const h = harness();
  h.replies.abort("interrupted");
  assert.deepEqual(h.sent, []);
  assert.equal(h.replies.turns.length, 0);
  h.replies.start(new ScriptedLlm([[token("Hi.")]]));
  await h.finished.promise;
  h.replies.abort("interrupted");
  h.replies.abort("closed");
  assert.deepEqual(h.sent, [text("Hi."), text("", true)]);
  assert.deepEqual(h.replies.turns.map((t) => t.outcome), ["completed"]);
});

Deno.test("a new reply supersedes the one in flight: it is closed, the new one runs", async () => {
  const h = harness();
  h.replies.start(
    new ScriptedLlm([async function* (request) {
      yield token("We open");
      await until(request.signal, new Promise(() => {}));
      yield token(" at nine.");
    }]),
  );
  await settle(() => h.sent.length > 0);
  h.history.caller("Actually, on Sunday?");
  h.replies.start(new ScriptedLlm([[token("Closed on Sunday.")]]));
  await h.finished.promise;
  await settle();
  assert.deepEqual(h.sent, [
    text("We open"),
    text("", true),
    text("Closed on Sunday."),
    text("", true),
  ]);
  assert.deepEqual(h.outcomes, [["replied", "Closed on Sunday."]]);
  assert.deepEqual(h.replies.turns.map((t) => t.outcome), ["superseded", "completed"]);
  assert.deepEqual(h.transcript.map((t) => t.text), ["We open", "Closed on Sunday."]);
});

Deno.test("a failure after speaking: a ' ' token (not last), then host.failed(err)", async () => {
  const h = harness();
  const failure = new Error("upstream 500");
  h.replies.start(
    new ScriptedLlm([async function* () {
      yield usage(7, 1);
      yield token("We open");
      throw failure;
    }]),
  );
  await h.finished.promise;
  assert.deepEqual(h.sent, [text("We open"), text(" ")]);
  assert.equal(h.outcomes.length, 1);
  assert.equal(h.outcomes[0][0], "failed");
  assert.equal(h.outcomes[0][1], failure);
  assert.equal(h.replies.idle, true);
  assert.deepEqual(metricsOf(h.replies), [{
    startedAt: h.clock.now(),
    outcome: "failed",
    inputTokens: 7,
    outputTokens: 1,
    latency: "measured",
  }]);
});

Deno.test("a failure before any token sends nothing and calls host.failed(err)", async () => {
  const h = harness();
  const failure = new Error("connection refused");
  h.replies.start(
    new ScriptedLlm([async function* () {
      await Promise.resolve();
      yield* [];
      throw failure;
    }]),
  );
  await h.finished.promise;
  assert.deepEqual(h.sent, []);
  assert.deepEqual(h.outcomes, [["failed", failure]]);
  assert.deepEqual(metricsOf(h.replies), [
    { startedAt: h.clock.now(), outcome: "failed", latency: null },
  ]);
});

Deno.test("a failure after the reply was aborted is not reported", async () => {
  const h = harness();
  const closed = Promise.withResolvers<void>();
  h.replies.start(
    new ScriptedLlm([async function* (request) {
      try {
        yield token("We open");
        await until(request.signal, new Promise(() => {}));
        throw new Error("stream reset");
      } finally {
        closed.resolve();
      }
    }]),
  );
  await settle(() => h.sent.length > 0);
  h.replies.abort("interrupted");
  await closed.promise;
  await settle();
  assert.deepEqual(h.sent, [text("We open"), text("", true)]);
  assert.deepEqual(h.outcomes, []);
  assert.deepEqual(h.replies.turns.map((t) => t.outcome), ["interrupted"]);
});

Deno.test("an empty reply while no tool asked to end the call is a failure", async () => {
  const h = harness();
  h.replies.start(new ScriptedLlm([[usage(3, 0)]]));
  await h.finished.promise;
  assert.deepEqual(h.sent, []);
  assert.equal(h.outcomes.length, 1);
  const [kind, err] = h.outcomes[0];
  assert.equal(kind, "failed");
  assert.ok(err instanceof Error);
  assert.equal(err.message, "the model returned an empty reply");
  assert.deepEqual(metricsOf(h.replies), [{
    startedAt: h.clock.now(),
    outcome: "failed",
    inputTokens: 3,
    outputTokens: 0,
    latency: null,
  }]);
});

Deno.test("an empty reply once a tool asked to end: replied(''), nothing sent", async () => {
  const h = harness({ ending: true });
  h.replies.start(new ScriptedLlm([[]]));
  await h.finished.promise;
  assert.deepEqual(h.sent, []);
  assert.deepEqual(h.outcomes, [["replied", ""]]);
  assert.deepEqual(h.replies.turns.map((t) => t.outcome), ["completed"]);
});

Deno.test("a crash in the host's callback is logged as relay.turn_crashed", async () => {
  const h = harness();
  const crashed = Promise.withResolvers<void>();
  h.host.replied = () => {
    crashed.resolve();
    throw new Error("host broke");
  };
  h.replies.start(new ScriptedLlm([[token("Hi.")]]));
  await crashed.promise;
  await settle(() => h.lines.some((l) => l.event === "relay.turn_crashed"));
  const crash = h.lines.filter((l) => l.event === "relay.turn_crashed");
  assert.deepEqual(crash.map(({ level, error }) => ({ level, error })), [
    { level: "error", error: "Error: host broke" },
  ]);
});

Deno.test("slow tool: FILLER (last, preemptible) after toolFillerMs then the answer", async () => {
  const lookup = slowLookup();
  const h = harness({ tools: [lookup.tool] });
  const calledAt = h.clock.now();
  h.replies.start(
    new ScriptedLlm([
      [{ type: "tool_call", call: LOOKUP }, usage(20, 5)],
      [token("We open at nine."), usage(30, 6)],
    ]),
  );
  await lookup.started;
  assert.equal(h.clock.scheduledFor(FILLER_MS), 1);
  h.clock.tick(FILLER_MS - 1);
  assert.deepEqual(h.sent, []);
  h.clock.tick(1);
  const filler: RelayOutbound = { type: "text", token: FILLER, last: true, preemptible: true };
  assert.deepEqual(h.sent, [filler]);
  lookup.answer.resolve({ open: "9-5" });
  await h.finished.promise;
  assert.deepEqual(h.sent, [filler, text("We open at nine."), text("", true)]);
  assert.deepEqual(h.outcomes, [["replied", "We open at nine."]]);
  assert.deepEqual(h.history.turns, [
    { role: "user", content: PROMPT },
    { role: "assistant", content: "", toolCalls: [LOOKUP] },
    { role: "tool", callId: "call_1", output: '{"open":"9-5"}' },
    { role: "assistant", content: "We open at nine." },
  ]);
  assert.deepEqual(h.toolEvents.map(({ durationMs: _, ...event }) => event), [{
    name: "lookup",
    ok: true,
    output: '{"open":"9-5"}',
    at: calledAt,
    arguments: '{"q":"hours"}',
  }]);
  assert.deepEqual(metricsOf(h.replies), [{
    startedAt: calledAt,
    outcome: "completed",
    inputTokens: 50,
    outputTokens: 11,
    latency: "measured",
  }]);
  assert.equal(h.clock.pending, 0);
});

Deno.test("a tool faster than toolFillerMs: no FILLER, and no timer left", async () => {
  const lookup = slowLookup();
  const h = harness({ tools: [lookup.tool] });
  h.replies.start(
    new ScriptedLlm([
      [{ type: "tool_call", call: LOOKUP }],
      [token("Nine.")],
    ]),
  );
  await lookup.started;
  h.clock.tick(FILLER_MS - 1);
  lookup.answer.resolve({ open: "9-5" });
  await h.finished.promise;
  assert.equal(h.clock.pending, 0);
  h.clock.tick(FILLER_MS);
  assert.deepEqual(h.sent, [text("Nine."), text("", true)]);
});

Deno.test("a reply aborted while its tool runs: no FILLER, the tool is told to stop", async () => {
  const lookup = slowLookup();
  const h = harness({ tools: [lookup.tool] });
  const llm = new ScriptedLlm([[{ type: "tool_call", call: LOOKUP }], [token("never")]]);
  h.replies.start(llm);
  const signal = await lookup.started;
  h.replies.abort("interrupted");
  assert.equal(signal.aborted, true);
  h.clock.tick(FILLER_MS);
  assert.deepEqual(h.sent, []);
  await settle(() => h.toolEvents.length > 0);
  await settle();
  assert.deepEqual(h.sent, []);
  assert.deepEqual(h.outcomes, []);
  assert.equal(llm.requests.length, 1);
  assert.deepEqual(h.history.turns, [
    { role: "user", content: PROMPT },
    { role: "assistant", content: "", toolCalls: [LOOKUP] },
    {
      role: "tool",
      callId: "call_1",
      output: '{"error":"The call moved on before the tool finished."}',
    },
  ]);
  assert.equal(h.clock.pending, 0);
});
