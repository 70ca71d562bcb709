/**
 * The conversation as the model will be given it, kept to what the caller actually heard: pure,
 * so its rules are tested exactly.
 *
 * - The caller's turns alternate with the agent's: two caller turns in a row (a key press, then
 *   speech; an interrupt, then the prompt) are merged into one.
 * - The agent's reply enters the history with its first token, so an interrupt mid-stream has
 *   something to trim. When the caller cuts in, the reply keeps only what Twilio says was heard
 *   (`utteranceUntilInterrupt`); a reply of which nothing was heard is dropped, and the caller's
 *   next words join their turn before it.
 * - A reply that asked for tools keeps its calls, and their outputs are in the history from the
 *   start (a placeholder until they answer), so the history sent next is always valid.
 * - With a token budget, each new caller turn makes room: older turns are dropped and summed up
 *   in a short digest ({@link entriesToDrop}), so a two-hour call sends no more than a short one.
 *
 * @module
 */

import {
  boundedDigest,
  digestBudget,
  digestLines,
  digestText,
  entriesToDrop,
} from "./history_budget.ts";
import type { ChatTurn, ToolCallRequest } from "./llm.ts";

/** An agent turn of the history. */
export type AssistantTurn = Extract<ChatTurn, { role: "assistant" }>;
/** A tool output of the history. */
export type ToolTurn = Extract<ChatTurn, { role: "tool" }>;

/** A tool's output while it has not answered (e.g. the caller interrupted). */
export const TOOL_PENDING = JSON.stringify({
  error: "The caller interrupted before the tool answered.",
});

/** Options of {@link HeardHistory}. */
export interface HeardHistoryOptions {
  /** The history's token budget (estimated); none = unbounded. */
  maxTokens?: number;
}

/** One call's history. */
export class HeardHistory {
  readonly turns: ChatTurn[] = [];
  /** Entries dropped to keep within the budget, over the whole call. */
  dropped = 0;
  #speaking: AssistantTurn | null = null;
  /** Who said what in the dropped entries, newest last, within a tenth of the budget. */
  #digest: string[] = [];
  readonly #maxTokens: number | null;

  constructor(options: HeardHistoryOptions = {}) {
    this.#maxTokens = options.maxTokens ?? null;
  }

  /** The agent turn the caller may be hearing right now. */
  get speaking(): AssistantTurn | null {
    return this.#speaking;
  }

  /** A copy of the turns, to give the model (the digest of dropped ones ahead of the first). */
  snapshot(): ChatTurn[] {
    const turns = this.turns.slice();
    const first = turns[0];
    // mutation: equivalent — after a drop the history starts with a caller turn (entriesToDrop)
    if (this.#digest.length && first?.role === "user") {
      turns[0] = { role: "user", content: `${digestText(this.#digest)}\n${first.content}` };
    }
    return turns;
  }

  /**
   * The caller said `text` (or pressed keys): joined to their turn if the last one is theirs.
   * Then older turns make room, if the history is over its budget.
   */
  caller(text: string): void {
    this.#speaking = null;
    const last = this.turns.at(-1);
    if (last?.role === "user") last.content = `${last.content} ${text}`;
    else this.turns.push({ role: "user", content: text });
    this.#fit();
  }

  /** Drops the oldest turns over the budget, keeping a digest of them. */
  #fit(): void {
    if (this.#maxTokens === null) return;
    const count = entriesToDrop(this.turns, this.#maxTokens);
    const dropped = this.turns.splice(0, count);
    this.dropped += count;
    const lines = [...this.#digest, ...digestLines(dropped)];
    this.#digest = boundedDigest(lines, digestBudget(this.#maxTokens));
  }

  /** The model's text of a new round begins: an agent turn the caller starts hearing. */
  agentText(): AssistantTurn {
    const message: AssistantTurn = { role: "assistant", content: "" };
    this.turns.push(message);
    this.#speaking = message;
    return message;
  }

  /** The agent says a fixed sentence (greeting, apology, reminder): as if the model had said it. */
  said(text: string): void {
    const last = this.turns.at(-1);
    if (last?.role === "assistant" && !last.toolCalls) {
      last.content = `${last.content} ${text}`.trim();
      this.#speaking = last;
    } else {
      this.#speaking = { role: "assistant", content: text };
      this.turns.push(this.#speaking);
    }
  }

  /**
   * The model asked for `calls` (on `message`, its text of the round, or on an empty turn of
   * their own); returns their outputs, already in the history as {@link TOOL_PENDING}.
   */
  toolCalls(message: AssistantTurn | null, calls: ToolCallRequest[]): ToolTurn[] {
    if (message) message.toolCalls = calls;
    else this.turns.push({ role: "assistant", content: "", toolCalls: calls });
    const outputs: ToolTurn[] = calls.map((c) => ({
      role: "tool",
      callId: c.id,
      output: TOOL_PENDING,
    }));
    this.turns.push(...outputs);
    return outputs;
  }

  /** The reply stopped being heard (it failed, or the agent moved on). */
  quiet(): void {
    this.#speaking = null;
  }

  /**
   * The caller cut in having heard `utterance` of what the agent was saying; returns false when
   * nothing was being said.
   */
  interrupted(utterance: string): boolean {
    const message = this.#speaking;
    this.#speaking = null;
    if (!message) return false;
    const heard = utterance.trim();
    const index = this.turns.lastIndexOf(message);
    if (index < 0) return true;
    if (heard || message.toolCalls?.length) {
      message.content = heard;
      return true;
    }
    // Nothing was heard: drop the turn (the caller's next words join their turn before it).
    // mutation: equivalent — a turn without tool calls that is being spoken is the last one
    this.turns.splice(index, 1);
    return true;
  }
}
