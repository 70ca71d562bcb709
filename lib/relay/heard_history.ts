/**
 * The conversation as the model will be given it, kept to what the caller actually heard: pure,
 * so its rules are tested exactly.
 *
 * - The caller's turns alternate with the agent's: two caller turns in a row (a key press, then
 *   speech; an interrupt, then the prompt) are merged into one.
 * - The agent's reply enters the history with its first token, so an interrupt mid-stream has
 *   something to trim. When the caller cuts in, the reply keeps only what Twilio says was heard
 *   (`utteranceUntilInterrupt`); a reply of which nothing was heard is dropped, and the caller's
 *   turns around it are joined.
 * - A reply that asked for tools keeps its calls, and their outputs are in the history from the
 *   start (a placeholder until they answer), so the history sent next is always valid.
 *
 * @module
 */

import type { ChatTurn, ToolCallRequest } from "./llm.ts";

/** An agent turn of the history. */
export type AssistantTurn = Extract<ChatTurn, { role: "assistant" }>;
/** A tool output of the history. */
export type ToolTurn = Extract<ChatTurn, { role: "tool" }>;

/** A tool's output while it has not answered (e.g. the caller interrupted). */
export const TOOL_PENDING = JSON.stringify({
  error: "The caller interrupted before the tool answered.",
});

/** One call's history. */
export class HeardHistory {
  readonly turns: ChatTurn[] = [];
  #speaking: AssistantTurn | null = null;

  /** The agent turn the caller may be hearing right now. */
  get speaking(): AssistantTurn | null {
    return this.#speaking;
  }

  /** A copy of the turns, to give the model. */
  snapshot(): ChatTurn[] {
    return this.turns.slice();
  }

  /** The caller said `text` (or pressed keys): joined to their turn if the last one is theirs. */
  caller(text: string): void {
    this.#speaking = null;
    const last = this.turns.at(-1);
    if (last?.role === "user") last.content = `${last.content} ${text}`;
    else this.turns.push({ role: "user", content: text });
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
    // Nothing was heard: drop the turn and join the caller's turns around it.
    this.turns.splice(index, 1);
    const before = this.turns[index - 1];
    const after = this.turns[index];
    if (before?.role === "user" && after?.role === "user") {
      before.content = `${before.content} ${after.content}`;
      this.turns.splice(index, 1);
    }
    return true;
  }
}
