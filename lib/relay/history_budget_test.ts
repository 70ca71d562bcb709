/**
 * The history budget's rules, exactly: the token estimate, which entries are dropped (whole
 * groups from the front, never the caller's last turn or what follows it, never a tool call apart
 * from its outputs, the rest starting with a caller turn), and the digest of what was dropped.
 */

import assert from "node:assert/strict";
import {
  boundedDigest,
  DIGEST_LINE_CHARS,
  digestBudget,
  digestLines,
  digestText,
  entriesToDrop,
  historyTokens,
  textTokens,
  turnTokens,
} from "./history_budget.ts";
import type { ChatTurn } from "./llm.ts";

/** A caller turn of `chars` characters (`chars / 4 + 4` tokens when a multiple of 4). */
const user = (chars: number, fill = "u"): ChatTurn => ({
  role: "user",
  content: fill.repeat(chars),
});
const agent = (chars: number): ChatTurn => ({ role: "assistant", content: "a".repeat(chars) });

Deno.test("the estimate: four characters a token, rounded up, plus four a message", () => {
  assert.equal(textTokens(""), 0);
  assert.equal(textTokens("abcd"), 1);
  assert.equal(textTokens("abcde"), 2);
  assert.equal(turnTokens(user(40)), 14);
  assert.equal(turnTokens(agent(0)), 4);
  // id "c1" (2) + name "lookup" (6) + arguments (12) = 20 characters = 5 tokens.
  assert.equal(
    turnTokens({
      role: "assistant",
      content: "abcd",
      toolCalls: [{ id: "c1", name: "lookup", arguments: '{"q":"open"}' }],
    }),
    4 + 1 + 5,
  );
  // callId "c1" = 1 token, output of 9 characters = 3 tokens.
  assert.equal(turnTokens({ role: "tool", callId: "c1", output: '{"ok":12}' }), 4 + 1 + 3);
  assert.equal(historyTokens([user(40), agent(40)]), 28);
});

Deno.test("a history that fits next to a digest loses nothing", () => {
  const turns = [user(40), agent(40), user(40)]; // 42 tokens
  assert.equal(entriesToDrop(turns, 46), 0); // 42 and a digest of 4 fit in 46
  assert.equal(entriesToDrop(turns, 45), 2); // 42 > 45 - 4: the first pair goes
});

Deno.test("over the budget: the oldest pairs go until the rest fits next to the digest", () => {
  // Six turns of 14 tokens = 84. Budget 60, of which 6 for the digest: the rest must be ≤ 54.
  const turns = [user(40), agent(40), user(40), agent(40), user(40), agent(40)];
  assert.equal(digestBudget(60), 6);
  // Dropping 2 leaves 56 > 54; dropping 3 leaves 42 but starts with an agent turn: so 4 (28).
  assert.equal(entriesToDrop(turns, 60), 4);
  assert.equal(entriesToDrop(turns, 70), 2); // 84 → 56 ≤ 63, starts with the caller
});

Deno.test("a history that starts with the greeting and fits keeps it", () => {
  // 28 tokens; with a budget of 31 (3 for the digest) they fit exactly.
  assert.equal(entriesToDrop([agent(40), user(40)], 31), 0);
  assert.equal(entriesToDrop([agent(40), user(40)], 1000), 0);
});

Deno.test("dropping stops as soon as the rest fits exactly, at a caller turn", () => {
  // 70 tokens; 46 leaves 42 next to the digest: two entries go, leaving exactly 42.
  assert.equal(entriesToDrop([user(40), agent(40), user(40), agent(40), user(40)], 46), 2);
});

Deno.test("the caller's last turn and what follows it are never dropped, however long", () => {
  const long = [user(40), agent(40), user(4000), agent(4000)];
  assert.equal(entriesToDrop(long, 100), 2);
  assert.equal(entriesToDrop([user(4000), agent(4000)], 100), 0, "nothing before the last turn");
  assert.equal(entriesToDrop([agent(4000), agent(4000)], 100), 0, "no caller turn at all");
});

Deno.test("a reply that used tools goes with its outputs; the kept part starts with the caller", () => {
  const turns: ChatTurn[] = [
    user(40),
    { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "f", arguments: "{}" }] },
    { role: "tool", callId: "c1", output: "x".repeat(400) },
    agent(40),
    user(40),
    agent(40),
  ];
  // 166 tokens; the budget (135 next to the digest) needs the 105-token output gone, and then
  // the front may not be a reply: everything up to the next caller turn goes.
  assert.equal(entriesToDrop(turns, 150), 4);
  const kept = turns.slice(4);
  assert.equal(kept[0].role, "user");
  assert.ok(!kept.some((t) => t.role === "tool"));
});

Deno.test("digest lines: who said what, whitespace folded, cut, tools named, outputs left out", () => {
  const long = "word ".repeat(40);
  const lines = digestLines([
    { role: "user", content: "  I need\n a   table " },
    { role: "assistant", content: "", toolCalls: [{ id: "c", name: "book", arguments: "{}" }] },
    { role: "tool", callId: "c", output: "secret output" },
    { role: "assistant", content: long },
    { role: "assistant", content: "   " },
  ]);
  const cut = long.replace(/\s+/g, " ").trim().slice(0, DIGEST_LINE_CHARS - 1) + "…";
  assert.deepEqual(lines, ["Caller: I need a table", "Agent: (used book)", `Agent: ${cut}`]);
  assert.equal(`Agent: ${cut}`.length, 7 + 80, "80 characters of the turn");
  const exact = "e".repeat(80);
  assert.deepEqual(digestLines([{ role: "user", content: exact }]), [`Caller: ${exact}`]);
  const both = digestLines([{
    role: "assistant",
    content: "Let me check.",
    toolCalls: [
      { id: "c1", name: "book", arguments: "{}" },
      { id: "c2", name: "notify", arguments: "{}" },
    ],
  }]);
  assert.deepEqual(both, ["Agent: Let me check. (used book, notify)"]);
});

Deno.test("the digest keeps its newest lines that fit, and reads as one bracketed note", () => {
  const lines = ["Caller: aaaa", "Agent: bbbbbbbb", "Caller: cccc"];
  // The head is 47 characters = 12 tokens; each line costs its tokens plus one.
  assert.deepEqual(boundedDigest(lines, 12), []);
  assert.deepEqual(boundedDigest(lines, 12 + 4), ["Caller: cccc"]);
  assert.deepEqual(boundedDigest(lines, 12 + 4 + 5), ["Agent: bbbbbbbb", "Caller: cccc"]);
  assert.deepEqual(boundedDigest(lines, 100), lines);
  assert.equal(
    digestText(["Caller: hi", "Agent: hello"]),
    "[Earlier in this call (left out to save space):\nCaller: hi\nAgent: hello]",
  );
});
