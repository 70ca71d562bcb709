/**
 * runTurnLoop against a scripted fake Llm: the order and content of its callbacks, the history it
 * leaves (text entries, tool calls with their outputs, in place before the next round), the
 * requests it makes, how an abort ends it (mid-stream, at the stream's end, during tools), a
 * reply without text, usage per round, model failures, and the MAX_TOOL_ROUNDS limit.
 */

import assert from "node:assert/strict";
import type { ToolDeclaration } from "../agents/tools.ts";
import { HeardHistory, TOOL_PENDING, type ToolTurn } from "./heard_history.ts";
import { type Round, ScriptedLlm, token, toolCall, usage } from "../../tests/fakes/scripted_llm.ts";
import type { Llm, ToolCallRequest } from "./llm.ts";
import { MAX_TOOL_ROUNDS, runTurnLoop, type TurnLoop } from "./turn_loop.ts";

const INSTRUCTIONS = "You answer for the clinic.";
const TOOLS: ToolDeclaration[] = [
  { name: "lookup", description: "Looks a fact up.", parameters: { type: "object" } },
];
const LOOKUP: ToolCallRequest = { id: "call_1", name: "lookup", arguments: '{"q":"hours"}' };
const WEATHER: ToolCallRequest = { id: "call_2", name: "weather", arguments: "{}" };

/** A turn loop over `llm` whose callbacks are logged, in order, in `log`. */
function loop(llm: Llm, options: { controller?: AbortController; history?: HeardHistory } = {}) {
  const controller = options.controller ?? new AbortController();
  const history = options.history ?? new HeardHistory();
  if (!options.history) history.caller("When are you open?");
  const log: unknown[] = [];
  const turn: TurnLoop = {
    llm,
    instructions: INSTRUCTIONS,
    tools: TOOLS,
    history,
    signal: controller.signal,
    onTextStart: (message) => {
      log.push(["textStart", structuredClone(message), message === history.turns.at(-1)]);
    },
    onText: (text) => log.push(["text", text, structuredClone(history.turns.at(-1))]),
    onUsage: (input, output) => log.push(["usage", input, output]),
    runTools: (calls: ToolCallRequest[], outputs: ToolTurn[]) => {
      // The outputs are in the history, pending, before the tools run.
      log.push(["tools", calls, structuredClone(outputs), structuredClone(history.turns)]);
      outputs.forEach((output, i) => (output.output = `{"answer":"${calls[i].name}"}`));
      return Promise.resolve();
    },
  };
  return { turn, history, log, controller };
}

Deno.test("MAX_TOOL_ROUNDS is 5", () => {
  assert.equal(MAX_TOOL_ROUNDS, 5);
});

Deno.test("a text-only reply: each token reported once added, the entry returned", async () => {
  const llm = new ScriptedLlm([[token("Hello"), token(" there."), usage(12, 4)]]);
  const { turn, history, log } = loop(llm);
  const end = await runTurnLoop(turn);
  assert.deepEqual(end, {
    aborted: false,
    message: { role: "assistant", content: "Hello there." },
  });
  assert.ok(!end.aborted);
  assert.equal(end.message, history.turns[1]);
  assert.deepEqual(log, [
    ["textStart", { role: "assistant", content: "" }, true],
    ["text", "Hello", { role: "assistant", content: "Hello" }],
    ["text", " there.", { role: "assistant", content: "Hello there." }],
    ["usage", 12, 4],
  ]);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "Hello there." },
  ]);
  assert.equal(history.speaking, history.turns[1]);
});

Deno.test("the request carries the instructions, tools, signal and history", async () => {
  const llm = new ScriptedLlm([[token("Hi.")]]);
  const { turn, controller } = loop(llm);
  await runTurnLoop(turn);
  assert.equal(llm.requests.length, 1);
  const [request] = llm.requests;
  assert.equal(request.instructions, INSTRUCTIONS);
  assert.equal(request.tools, TOOLS);
  assert.equal(request.signal, controller.signal);
  assert.deepEqual(request.history, [{ role: "user", content: "When are you open?" }]);
});

Deno.test("the agent's model goes with the request when it has one; else the default's", async () => {
  const own = new ScriptedLlm([[token("Hi.")]]);
  const { turn } = loop(own);
  await runTurnLoop({
    ...turn,
    model: { model: "gpt-4.1", api: "responses" } as TurnLoop["model"],
  });
  assert.deepEqual(own.requests[0].model, { model: "gpt-4.1", api: "responses" });
  const fallback = new ScriptedLlm([[token("Hi.")]]);
  await runTurnLoop(loop(fallback).turn);
  assert.equal("model" in fallback.requests[0], false);
});

Deno.test("usage: cached input tokens reported as given, 0 when the API gave none", async () => {
  const cached: {
    type: "usage";
    inputTokens: number;
    outputTokens: number;
    cachedInputTokens: number;
  } = {
    type: "usage",
    inputTokens: 40,
    outputTokens: 3,
    cachedInputTokens: 32,
  };
  const llm = new ScriptedLlm([[token("Hi."), cached, usage(7, 1)]]);
  const seen: number[][] = [];
  const { turn } = loop(llm);
  await runTurnLoop({ ...turn, onUsage: (i, o, c) => seen.push([i, o, c]) });
  assert.deepEqual(seen, [[40, 3, 32], [7, 1, 0]]);
});

Deno.test("a tool round then text: calls and answered outputs go to the next round", async () => {
  const llm = new ScriptedLlm([
    [token("Let me check."), toolCall(LOOKUP), usage(20, 5)],
    [token("We open at nine."), usage(30, 6)],
  ]);
  const { turn, history, log } = loop(llm);
  const end = await runTurnLoop(turn);
  const checked = { role: "assistant", content: "Let me check.", toolCalls: [LOOKUP] };
  const answered = { role: "tool", callId: "call_1", output: '{"answer":"lookup"}' };
  const final = { role: "assistant", content: "We open at nine." };
  assert.deepEqual(end, { aborted: false, message: final });
  assert.ok(!end.aborted && end.message === history.turns[3]);
  assert.deepEqual(log, [
    ["textStart", { role: "assistant", content: "" }, true],
    ["text", "Let me check.", { role: "assistant", content: "Let me check." }],
    ["usage", 20, 5],
    ["tools", [LOOKUP], [{ role: "tool", callId: "call_1", output: TOOL_PENDING }], [
      { role: "user", content: "When are you open?" },
      checked,
      { role: "tool", callId: "call_1", output: TOOL_PENDING },
    ]],
    ["textStart", { role: "assistant", content: "" }, true],
    ["text", "We open at nine.", final],
    ["usage", 30, 6],
  ]);
  assert.deepEqual(llm.requests.map((r) => r.history), [
    [{ role: "user", content: "When are you open?" }],
    [{ role: "user", content: "When are you open?" }, checked, answered],
  ]);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    checked,
    answered,
    final,
  ]);
});

Deno.test("a tool round without text gets an empty agent turn for its calls", async () => {
  const llm = new ScriptedLlm([[toolCall(LOOKUP)], [token("Nine to five.")]]);
  const { turn, history, log } = loop(llm);
  const end = await runTurnLoop(turn);
  assert.ok(!end.aborted && end.message === history.turns[3]);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "", toolCalls: [LOOKUP] },
    { role: "tool", callId: "call_1", output: '{"answer":"lookup"}' },
    { role: "assistant", content: "Nine to five." },
  ]);
  assert.deepEqual(log.map((entry) => (entry as unknown[])[0]), ["tools", "textStart", "text"]);
});

Deno.test("parallel tool calls: one runTools with every call, outputs in order", async () => {
  const llm = new ScriptedLlm([
    [toolCall(LOOKUP), toolCall(WEATHER)],
    [token("Open, and sunny.")],
  ]);
  const { turn, history, log } = loop(llm);
  await runTurnLoop(turn);
  const pending = [
    { role: "tool", callId: "call_1", output: TOOL_PENDING },
    { role: "tool", callId: "call_2", output: TOOL_PENDING },
  ];
  assert.deepEqual(log[0], ["tools", [LOOKUP, WEATHER], pending, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "", toolCalls: [LOOKUP, WEATHER] },
    ...pending,
  ]]);
  assert.equal(log.length, 3);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "", toolCalls: [LOOKUP, WEATHER] },
    { role: "tool", callId: "call_1", output: '{"answer":"lookup"}' },
    { role: "tool", callId: "call_2", output: '{"answer":"weather"}' },
    { role: "assistant", content: "Open, and sunny." },
  ]);
});

Deno.test("tokens after a tool call in the same round are that round's text", async () => {
  const llm = new ScriptedLlm([[toolCall(LOOKUP), token("Checking.")], [token("Done.")]]);
  const { turn, history } = loop(llm);
  await runTurnLoop(turn);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "Checking.", toolCalls: [LOOKUP] },
    { role: "tool", callId: "call_1", output: '{"answer":"lookup"}' },
    { role: "assistant", content: "Done." },
  ]);
});

Deno.test("a last round without text: the reply's earlier text entry is returned", async () => {
  const llm = new ScriptedLlm([[token("Let me check."), toolCall(LOOKUP)], [usage(9, 0)]]);
  const { turn, history } = loop(llm);
  const end = await runTurnLoop(turn);
  assert.ok(!end.aborted);
  assert.equal(end.message, history.turns[1]);
  assert.deepEqual(end.message, {
    role: "assistant",
    content: "Let me check.",
    toolCalls: [LOOKUP],
  });
  assert.equal(history.turns.length, 3);
});

Deno.test("a reply with no text: message null, no text callbacks, history unchanged", async () => {
  const llm = new ScriptedLlm([[usage(15, 0)]]);
  const { turn, history, log } = loop(llm);
  const end = await runTurnLoop(turn);
  assert.deepEqual(end, { aborted: false, message: null });
  assert.deepEqual(log, [["usage", 15, 0]]);
  assert.deepEqual(history.turns, [{ role: "user", content: "When are you open?" }]);
  assert.equal(history.speaking, null);
});

Deno.test("an empty stream is a reply with no text", async () => {
  const llm = new ScriptedLlm([[]]);
  const { turn, log } = loop(llm);
  assert.deepEqual(await runTurnLoop(turn), { aborted: false, message: null });
  assert.deepEqual(log, []);
});

Deno.test("usage is reported event by event, in stream order, every round", async () => {
  const llm = new ScriptedLlm([
    [usage(1, 2), token("A"), usage(3, 4), toolCall(LOOKUP)],
    [usage(5, 6), token("B")],
  ]);
  const { turn, log } = loop(llm);
  await runTurnLoop(turn);
  assert.deepEqual(log.map((entry) => (entry as unknown[]).slice(0, 3)), [
    ["usage", 1, 2],
    ["textStart", { role: "assistant", content: "" }, true],
    ["text", "A", { role: "assistant", content: "A" }],
    ["usage", 3, 4],
    ["tools", [LOOKUP], [{ role: "tool", callId: "call_1", output: TOOL_PENDING }]],
    ["usage", 5, 6],
    ["textStart", { role: "assistant", content: "" }, true],
    ["text", "B", { role: "assistant", content: "B" }],
  ]);
});

Deno.test("abort mid-stream: aborted, no later token reported, the stream closed", async () => {
  let closed = false;
  let yielded = 0;
  const llm = new ScriptedLlm([async function* () {
    try {
      for (const text of ["Hel", "lo", " there"]) {
        await Promise.resolve();
        yielded++;
        yield token(text);
      }
    } finally {
      closed = true;
    }
  }]);
  const { turn, history, log, controller } = loop(llm);
  const onText = turn.onText;
  turn.onText = (text) => {
    onText(text);
    controller.abort();
  };
  assert.deepEqual(await runTurnLoop(turn), { aborted: true });
  assert.deepEqual(log, [
    ["textStart", { role: "assistant", content: "" }, true],
    ["text", "Hel", { role: "assistant", content: "Hel" }],
  ]);
  assert.equal(yielded, 2);
  assert.equal(closed, true);
  // What was streamed stays in the history: cutting it to what was heard is HeardHistory's job.
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "Hel" },
  ]);
});

Deno.test("abort as the stream ends quietly: aborted, and its tool calls are not run", async () => {
  const llm = new ScriptedLlm([async function* (request) {
    yield toolCall(LOOKUP);
    yield token("Checking");
    // The real client ends an aborted stream without an error.
    if (request.signal.aborted) return;
    yield token(" more");
  }]);
  const { turn, history, log, controller } = loop(llm);
  turn.onText = () => controller.abort();
  assert.deepEqual(await runTurnLoop(turn), { aborted: true });
  assert.deepEqual(log, [["textStart", { role: "assistant", content: "" }, true]]);
  assert.equal(llm.requests.length, 1);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "Checking" },
  ]);
});

Deno.test("abort while the tools run: aborted, and the model is not asked again", async () => {
  const llm = new ScriptedLlm([[toolCall(LOOKUP)], [token("never")]]);
  const { turn, history, controller } = loop(llm);
  turn.runTools = (_calls, outputs) => {
    controller.abort();
    outputs[0].output = '{"error":"moved on"}';
    return Promise.resolve();
  };
  assert.deepEqual(await runTurnLoop(turn), { aborted: true });
  assert.equal(llm.requests.length, 1);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "", toolCalls: [LOOKUP] },
    { role: "tool", callId: "call_1", output: '{"error":"moved on"}' },
  ]);
});

Deno.test("a signal aborted before the start: aborted at the first event", async () => {
  const controller = new AbortController();
  controller.abort();
  const llm = new ScriptedLlm([[token("Hi"), usage(1, 1)]]);
  const { turn, history, log } = loop(llm, { controller });
  assert.deepEqual(await runTurnLoop(turn), { aborted: true });
  assert.deepEqual(log, []);
  assert.deepEqual(history.turns, [{ role: "user", content: "When are you open?" }]);
});

Deno.test("a model failure rejects with its error, after the tokens before it", async () => {
  const failure = new Error("upstream 500");
  const llm = new ScriptedLlm([async function* () {
    yield token("We open");
    throw failure;
  }]);
  const { turn, history, log } = loop(llm);
  await assert.rejects(runTurnLoop(turn), (err) => err === failure);
  assert.deepEqual(log, [
    ["textStart", { role: "assistant", content: "" }, true],
    ["text", "We open", { role: "assistant", content: "We open" }],
  ]);
  assert.deepEqual(history.turns[1], { role: "assistant", content: "We open" });
});

Deno.test("a failing tool round rejects the loop with the tools' error", async () => {
  const failure = new Error("tool crashed");
  const llm = new ScriptedLlm([[toolCall(LOOKUP)], [token("never")]]);
  const { turn } = loop(llm);
  turn.runTools = () => Promise.reject(failure);
  await assert.rejects(runTurnLoop(turn), (err) => err === failure);
  assert.equal(llm.requests.length, 1);
});

Deno.test("tools run MAX_TOOL_ROUNDS - 1 times: text in the last round is fine", async () => {
  const rounds: Round[] = [];
  for (let i = 1; i < MAX_TOOL_ROUNDS; i++) {
    rounds.push([toolCall({ id: `call_${i}`, name: "lookup", arguments: "{}" })]);
  }
  rounds.push([token("Found it.")]);
  const llm = new ScriptedLlm(rounds);
  const { turn, history, log } = loop(llm);
  const end = await runTurnLoop(turn);
  assert.ok(!end.aborted);
  assert.deepEqual(end.message, { role: "assistant", content: "Found it." });
  assert.equal(llm.requests.length, 5);
  assert.equal(log.filter((entry) => (entry as unknown[])[0] === "tools").length, 4);
  assert.equal(history.turns.length, 1 + 4 * 2 + 1);
});

Deno.test("a model still asking for tools in round MAX_TOOL_ROUNDS fails the reply", async () => {
  const rounds: Round[] = [];
  for (let i = 1; i <= MAX_TOOL_ROUNDS + 1; i++) {
    rounds.push([toolCall({ id: `call_${i}`, name: "lookup", arguments: "{}" })]);
  }
  const llm = new ScriptedLlm(rounds);
  const { turn, history, log } = loop(llm);
  await assert.rejects(runTurnLoop(turn), {
    name: "Error",
    message: "too many tool rounds in one turn",
  });
  assert.equal(llm.requests.length, 5);
  assert.deepEqual(
    log.map((entry) => ((entry as unknown[])[1] as ToolCallRequest[])[0].id),
    ["call_1", "call_2", "call_3", "call_4"],
  );
  // The fifth round's calls never enter the history.
  assert.equal(history.turns.length, 1 + 4 * 2);
  assert.deepEqual(history.turns.at(-1), {
    role: "tool",
    callId: "call_4",
    output: '{"answer":"lookup"}',
  });
});
