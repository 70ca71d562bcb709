/**
 * HeardHistory keeps only what the caller heard: caller turns (consecutive ones merged), the
 * agent's text as it streams, `interrupted` cutting the spoken turn to Twilio's utterance (or
 * dropping it when nothing was heard, unless it carries tool calls), fixed sentences (`said`),
 * `quiet`, and tool calls with their pending outputs. It never trims the history.
 */

import assert from "node:assert/strict";
import type { ToolCallRequest } from "./llm.ts";
import { HeardHistory, TOOL_PENDING } from "./heard_history.ts";

const LOOKUP: ToolCallRequest = { id: "call_1", name: "lookup", arguments: '{"q":"hours"}' };
const WEATHER: ToolCallRequest = { id: "call_2", name: "weather", arguments: "{}" };

/** A history of one caller turn and an agent reply `reply` being spoken. */
function speaking(reply: string): HeardHistory {
  const history = new HeardHistory();
  history.caller("When are you open?");
  history.agentText().content = reply;
  return history;
}

Deno.test("TOOL_PENDING is the JSON error the model reads for a tool that never answered", () => {
  assert.equal(TOOL_PENDING, '{"error":"The caller interrupted before the tool answered."}');
});

Deno.test("a new history is empty and nothing is being spoken", () => {
  const history = new HeardHistory();
  assert.deepEqual(history.turns, []);
  assert.equal(history.speaking, null);
  assert.equal(history.interrupted("anything"), false);
  assert.deepEqual(history.turns, []);
});

Deno.test("consecutive caller turns merge into one, joined by a space", () => {
  const history = new HeardHistory();
  history.caller("[The caller pressed the keys: 1 2]");
  history.caller("I want my balance");
  history.caller("please");
  assert.deepEqual(history.turns, [
    { role: "user", content: "[The caller pressed the keys: 1 2] I want my balance please" },
  ]);
});

Deno.test("caller and agent turns alternate: a caller turn after the agent's is a new one", () => {
  const history = new HeardHistory();
  history.caller("Hi");
  history.agentText().content = "Hello! How can I help?";
  history.caller("Opening hours?");
  assert.deepEqual(history.turns, [
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello! How can I help?" },
    { role: "user", content: "Opening hours?" },
  ]);
});

Deno.test("agentText adds an empty agent turn, in the history, that is now being spoken", () => {
  const history = new HeardHistory();
  history.caller("Hi");
  const message = history.agentText();
  assert.deepEqual(message, { role: "assistant", content: "" });
  assert.equal(history.turns[1], message);
  assert.equal(history.speaking, message);
  message.content += "Hel";
  message.content += "lo";
  assert.deepEqual(history.turns, [
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello" },
  ]);
});

Deno.test("snapshot is a copy of the list: changing it leaves the history alone", () => {
  const history = speaking("We open at nine.");
  const snapshot = history.snapshot();
  assert.deepEqual(snapshot, history.turns);
  assert.notEqual(snapshot, history.turns);
  snapshot.push({ role: "user", content: "extra" });
  snapshot.shift();
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "We open at nine." },
  ]);
});

Deno.test("a caller turn ends what the agent was saying: a later interrupt changes nothing", () => {
  const history = speaking("We open at nine.");
  history.caller("Thanks");
  assert.equal(history.speaking, null);
  assert.equal(history.interrupted(""), false);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "We open at nine." },
    { role: "user", content: "Thanks" },
  ]);
});

Deno.test("interrupted cuts the spoken turn to what was heard, once", () => {
  const history = speaking("We open at nine and close at five on weekdays.");
  assert.equal(history.interrupted("We open at nine"), true);
  assert.equal(history.speaking, null);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "We open at nine" },
  ]);
  // Nothing is being spoken any more: a second interrupt is not about this turn.
  assert.equal(history.interrupted(""), false);
  assert.deepEqual(history.turns[1], { role: "assistant", content: "We open at nine" });
});

Deno.test("interrupted trims the utterance's surrounding whitespace", () => {
  const history = speaking("We open at nine and close at five.");
  assert.equal(history.interrupted("  We open at nine \n"), true);
  assert.deepEqual(history.turns[1], { role: "assistant", content: "We open at nine" });
});

Deno.test("interrupted keeps Twilio's utterance even when it is not a prefix of the text", () => {
  const history = speaking("We open at 9 a.m. sharp.");
  assert.equal(history.interrupted("We open at nine a m"), true);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "We open at nine a m" },
  ]);
});

Deno.test("interrupted with an empty utterance drops the turn nothing was heard of", () => {
  const history = speaking("We open at nine.");
  assert.equal(history.interrupted(""), true);
  assert.equal(history.speaking, null);
  assert.deepEqual(history.turns, [{ role: "user", content: "When are you open?" }]);
  // The caller's next words join the turn before the dropped reply.
  history.caller("Hello?");
  assert.deepEqual(history.turns, [{ role: "user", content: "When are you open? Hello?" }]);
});

Deno.test("interrupted with a whitespace-only utterance counts as nothing heard", () => {
  const history = speaking("We open at nine.");
  assert.equal(history.interrupted(" \t\n "), true);
  assert.deepEqual(history.turns, [{ role: "user", content: "When are you open?" }]);
});

Deno.test("the greeting, first in the history, is cut to what was heard like any turn", () => {
  const history = new HeardHistory();
  history.said("Hello, you reached the clinic. How can I help?");
  assert.equal(history.interrupted("Hello, you reached"), true);
  assert.deepEqual(history.turns, [{ role: "assistant", content: "Hello, you reached" }]);
});

Deno.test("a fixed sentence after the caller's turn is a new agent turn, not joined to an old one", () => {
  const history = new HeardHistory();
  history.caller("Hi");
  history.agentText().content = "Hello.";
  history.caller("Can you hold?");
  history.said("One moment.");
  assert.deepEqual(history.turns, [
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello." },
    { role: "user", content: "Can you hold?" },
    { role: "assistant", content: "One moment." },
  ]);
});

Deno.test("a spoken turn no longer in the history is left alone", () => {
  const history = speaking("We open at nine.");
  const message = history.speaking!;
  history.turns.splice(1, 1);
  assert.equal(history.interrupted("We open"), true);
  assert.equal(history.speaking, null);
  assert.deepEqual(message, { role: "assistant", content: "We open at nine." });
  assert.deepEqual(history.turns, [{ role: "user", content: "When are you open?" }]);
});

Deno.test("nothing heard of a turn with tool calls: it stays, emptied, with its outputs", () => {
  const history = speaking("Let me check that for you.");
  const outputs = history.toolCalls(history.speaking, [LOOKUP]);
  assert.equal(history.interrupted(""), true);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "", toolCalls: [LOOKUP] },
    { role: "tool", callId: "call_1", output: TOOL_PENDING },
  ]);
  assert.deepEqual(outputs, [{ role: "tool", callId: "call_1", output: TOOL_PENDING }]);
});

Deno.test("part heard of a turn with tool calls: cut to it, calls and outputs kept", () => {
  const history = speaking("Let me check that for you.");
  history.toolCalls(history.speaking, [LOOKUP]);
  assert.equal(history.interrupted("Let me"), true);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "Let me", toolCalls: [LOOKUP] },
    { role: "tool", callId: "call_1", output: TOOL_PENDING },
  ]);
});

Deno.test("toolCalls on the round's text: calls go on it, pending outputs follow in order", () => {
  const history = speaking("Checking.");
  const message = history.speaking;
  const outputs = history.toolCalls(message, [LOOKUP, WEATHER]);
  assert.deepEqual(outputs, [
    { role: "tool", callId: "call_1", output: TOOL_PENDING },
    { role: "tool", callId: "call_2", output: TOOL_PENDING },
  ]);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "Checking.", toolCalls: [LOOKUP, WEATHER] },
    { role: "tool", callId: "call_1", output: TOOL_PENDING },
    { role: "tool", callId: "call_2", output: TOOL_PENDING },
  ]);
  // The outputs returned are the history's own entries: answering one updates the history.
  outputs[1].output = '{"temp":21}';
  assert.deepEqual(history.turns[3], { role: "tool", callId: "call_2", output: '{"temp":21}' });
  assert.equal(history.speaking, message);
});

Deno.test("toolCalls without text: an empty agent turn of their own carries them", () => {
  const history = new HeardHistory();
  history.caller("Weather?");
  const outputs = history.toolCalls(null, [WEATHER]);
  assert.deepEqual(history.turns, [
    { role: "user", content: "Weather?" },
    { role: "assistant", content: "", toolCalls: [WEATHER] },
    { role: "tool", callId: "call_2", output: TOOL_PENDING },
  ]);
  assert.equal(history.turns[2], outputs[0]);
  // That empty turn is not something the caller hears.
  assert.equal(history.speaking, null);
  assert.equal(history.interrupted(""), false);
  assert.equal(history.turns.length, 3);
});

Deno.test("a tool-only round keeps the earlier round's text as the one being spoken", () => {
  const history = speaking("One moment.");
  const first = history.speaking;
  history.toolCalls(first, [LOOKUP]);
  history.toolCalls(null, [WEATHER]);
  assert.equal(history.speaking, first);
  assert.equal(history.interrupted("One"), true);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "One", toolCalls: [LOOKUP] },
    { role: "tool", callId: "call_1", output: TOOL_PENDING },
    { role: "assistant", content: "", toolCalls: [WEATHER] },
    { role: "tool", callId: "call_2", output: TOOL_PENDING },
  ]);
});

Deno.test("said on an empty history or after the caller is a new agent turn, being spoken", () => {
  const history = new HeardHistory();
  history.said("Hello, this is the clinic.");
  assert.deepEqual(history.turns, [{ role: "assistant", content: "Hello, this is the clinic." }]);
  assert.equal(history.speaking, history.turns[0]);
  history.caller("Hi");
  history.said("Are you still there?");
  assert.deepEqual(history.turns, [
    { role: "assistant", content: "Hello, this is the clinic." },
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Are you still there?" },
  ]);
  assert.equal(history.speaking, history.turns[2]);
});

Deno.test("said after an agent turn without tools joins it with a space, still spoken", () => {
  const history = speaking("Let me");
  history.quiet();
  history.said("Sorry, I'm having trouble.");
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "Let me Sorry, I'm having trouble." },
  ]);
  assert.equal(history.speaking, history.turns[1]);
  // The joined turn is what an interrupt now cuts.
  assert.equal(history.interrupted("Let me Sorry"), true);
  assert.deepEqual(history.turns[1], { role: "assistant", content: "Let me Sorry" });
});

Deno.test("said after an empty agent turn takes its place, with no leading space", () => {
  const history = new HeardHistory();
  history.caller("Hi");
  history.agentText();
  history.said("Goodbye.");
  assert.deepEqual(history.turns, [
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Goodbye." },
  ]);
  assert.equal(history.speaking, history.turns[1]);
});

Deno.test("said after tool outputs is a new agent turn", () => {
  const history = speaking("Checking.");
  history.toolCalls(history.speaking, [LOOKUP]);
  history.said("One moment please.");
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "Checking.", toolCalls: [LOOKUP] },
    { role: "tool", callId: "call_1", output: TOOL_PENDING },
    { role: "assistant", content: "One moment please." },
  ]);
  assert.equal(history.speaking, history.turns[3]);
});

Deno.test("said never joins an agent turn that carries tool calls", () => {
  // Only reachable with an empty list of calls (no outputs follow it): still a tool-call turn.
  const history = speaking("Checking.");
  history.toolCalls(history.speaking, []);
  history.said("Goodbye.");
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "Checking.", toolCalls: [] },
    { role: "assistant", content: "Goodbye." },
  ]);
  assert.equal(history.speaking, history.turns[2]);
});

Deno.test("quiet: the reply is no longer heard, so an interrupt leaves it whole", () => {
  const history = speaking("We open at nine.");
  history.quiet();
  assert.equal(history.speaking, null);
  assert.equal(history.interrupted(""), false);
  assert.deepEqual(history.turns, [
    { role: "user", content: "When are you open?" },
    { role: "assistant", content: "We open at nine." },
  ]);
});

Deno.test("without a budget, every turn of a long call stays", () => {
  const history = new HeardHistory();
  for (let i = 0; i < 300; i++) {
    history.caller(`question ${i}`);
    history.agentText().content = `answer ${i}`;
  }
  assert.equal(history.turns.length, 600);
  assert.deepEqual(history.turns[0], { role: "user", content: "question 0" });
  assert.deepEqual(history.turns[599], { role: "assistant", content: "answer 299" });
});

Deno.test("with a budget, each caller turn makes room: old pairs go into the digest", () => {
  // Each pair: "question N" / "answer N" — 10–12 characters, 3 tokens + 4 = 7 each (N < 100).
  const history = new HeardHistory({ maxTokens: 100 });
  for (let i = 0; i < 40; i++) {
    history.caller(`question ${i}`);
    history.agentText().content = `answer ${i}`;
  }
  history.caller("question 40");
  // 100 tokens, 10 for the digest: at most 90 for turns of 7 tokens = 12 turns, from a caller's.
  assert.equal(history.turns.length, 11);
  assert.equal(history.dropped, 81 - 11);
  assert.deepEqual(history.turns[0], { role: "user", content: "question 35" });
  assert.deepEqual(history.turns.at(-1), { role: "user", content: "question 40" });
  const [first, ...rest] = history.snapshot();
  assert.deepEqual(rest, history.turns.slice(1));
  assert.equal(first.role, "user");
  // The digest's newest lines fit in 10 tokens: its head alone is 12, so none do.
  assert.equal((first as { content: string }).content, "question 35");
});

Deno.test("the digest of dropped turns is given ahead of the first kept caller turn", () => {
  const history = new HeardHistory({ maxTokens: 500 });
  const intro = "My name is Ada. " + "I like tea. ".repeat(19); // 244 characters: 65 tokens
  history.caller(intro);
  history.agentText().content = "Hello Ada."; // 7
  history.caller("x".repeat(1680)); // 424
  history.agentText().content = "Noted."; // 6
  history.caller("What is my name?"); // 8: 510 in all, over 500
  // 450 next to the digest: the first pair goes (438 left), and the rest starts with the caller.
  assert.equal(history.dropped, 2);
  assert.deepEqual(history.turns.map((t) => t.role), ["user", "assistant", "user"]);
  const snapshot = history.snapshot();
  assert.equal(snapshot[0].role, "user");
  assert.equal(
    (snapshot[0] as { content: string }).content,
    "[Earlier in this call (left out to save space):\n" +
      `Caller: ${intro.trim().slice(0, 79)}…\nAgent: Hello Ada.]\n` + "x".repeat(1680),
  );
  assert.equal((history.turns[0] as { content: string }).content, "x".repeat(1680), "not changed");
});

Deno.test("a tool round is dropped with its outputs, never apart from them", () => {
  const history = new HeardHistory({ maxTokens: 120 });
  const lookup: ToolCallRequest = { id: "call_1", name: "lookup", arguments: "{}" };
  history.caller("When are you open?");
  const [output] = history.toolCalls(null, [lookup]);
  output.output = "y".repeat(200);
  history.agentText().content = "From nine.";
  history.caller("z".repeat(300));
  assert.deepEqual(history.turns.map((t) => t.role), ["user"]);
  assert.equal(history.dropped, 4);
});
