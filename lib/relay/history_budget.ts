/**
 * Keeping a relay call's history within a token budget, so a long call does not grow its every
 * request (and its memory) without end: pure, so the rules are tested exactly.
 *
 * - The instructions are not part of the history: they are always sent whole.
 * - The recent turns are kept whole: the caller's last turn and everything after it are never
 *   dropped, however long.
 * - Older turns are dropped from the front, oldest first, until the rest fits. A reply that asked
 *   for tools goes together with the tools' outputs: a call is never kept apart from its result.
 *   The kept history always starts with a caller turn.
 * - What was dropped is summed up in a short digest of who said what (cut to
 *   {@link DIGEST_LINE_CHARS} characters a line, at most a tenth of the budget), given to the
 *   model ahead of the first kept turn, so it still knows roughly what was said.
 *
 * Tokens are estimated, not counted: about four characters a token, plus a little per message —
 * close enough for a budget, and free (no tokenizer per call).
 *
 * @module
 */

import type { ChatTurn } from "./llm.ts";

/** Characters per token in the estimate. */
const CHARS_PER_TOKEN = 4;
/** Tokens of framing each message costs (role, separators). */
const MESSAGE_TOKENS = 4;
/** A digest line keeps this many characters of the turn it stands for. */
export const DIGEST_LINE_CHARS = 80;

/** The estimated tokens of `text`. */
export function textTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** The estimated tokens of one history entry. */
export function turnTokens(turn: ChatTurn): number {
  switch (turn.role) {
    case "user":
      return MESSAGE_TOKENS + textTokens(turn.content);
    case "assistant": {
      const calls = turn.toolCalls ?? [];
      const callChars = calls.reduce(
        (n, c) => n + c.id.length + c.name.length + c.arguments.length,
        0,
      );
      return MESSAGE_TOKENS + textTokens(turn.content) + Math.ceil(callChars / CHARS_PER_TOKEN);
    }
    case "tool":
      return MESSAGE_TOKENS + textTokens(turn.callId) + textTokens(turn.output);
  }
}

/** The estimated tokens of a history. */
export function historyTokens(turns: readonly ChatTurn[]): number {
  return turns.reduce((n, t) => n + turnTokens(t), 0);
}

/**
 * How many entries to drop from the front of `turns` so the rest fits in `maxTokens` next to a
 * digest of at most a tenth of it: whole groups only, never the caller's last turn or anything
 * after it, and the kept part starting with a caller turn. 0 when it fits already.
 */
export function entriesToDrop(turns: readonly ChatTurn[], maxTokens: number): number {
  const protectedFrom = turns.findLastIndex((t) => t.role === "user");
  // Room is kept for the digest even before there is one, so the two always fit together.
  const budget = maxTokens - digestBudget(maxTokens);
  let total = historyTokens(turns);
  if (total <= budget) return 0;
  let drop = 0;
  while (drop < protectedFrom && (total > budget || turns[drop].role !== "user")) {
    total -= turnTokens(turns[drop]);
    drop++;
  }
  return drop;
}

/** The most tokens the digest of dropped turns may take. */
export function digestBudget(maxTokens: number): number {
  return Math.floor(maxTokens / 10);
}

/** The digest lines of dropped entries: who said what, cut short (tool outputs left out). */
export function digestLines(dropped: readonly ChatTurn[]): string[] {
  const lines: string[] = [];
  for (const turn of dropped) {
    if (turn.role === "tool") continue;
    const text = turn.content.replace(/\s+/g, " ").trim();
    const tools = turn.role === "assistant" && turn.toolCalls?.length
      ? `(used ${turn.toolCalls.map((c) => c.name).join(", ")})`
      : "";
    if (!text && !tools) continue;
    const cut = text.length > DIGEST_LINE_CHARS ? `${text.slice(0, DIGEST_LINE_CHARS - 1)}…` : text;
    const said = [cut, tools].filter((part) => part !== "").join(" ");
    lines.push(`${turn.role === "user" ? "Caller" : "Agent"}: ${said}`);
  }
  return lines;
}

/** Keeps the newest digest lines that fit in `maxTokens` (with the digest's framing). */
export function boundedDigest(lines: readonly string[], maxTokens: number): string[] {
  const kept: string[] = [];
  let total = textTokens(DIGEST_HEAD);
  for (let i = lines.length - 1; i >= 0; i--) {
    const cost = textTokens(lines[i]) + 1;
    if (total + cost > maxTokens) break;
    total += cost;
    kept.unshift(lines[i]);
  }
  return kept;
}

const DIGEST_HEAD = "[Earlier in this call (left out to save space):";

/** The digest as the model reads it, ahead of the first kept caller turn. */
export function digestText(lines: readonly string[]): string {
  return `${DIGEST_HEAD}\n${lines.join("\n")}]`;
}
