/**
 * A fake {@link Llm} for unit tests of the relay path: each request streams the next round of a
 * script (fixed events, or a generator that sees the request), and every request is kept as it
 * was made.
 */

import type { ChatTurn, Llm, LlmEvent, LlmRequest, ToolCallRequest } from "../../lib/relay/llm.ts";

/** One round of the script: fixed events, or a generator that sees the request. */
export type Round = LlmEvent[] | ((request: LlmRequest) => AsyncIterable<LlmEvent>);

/** A streamed text token. */
export const token = (text: string): LlmEvent => ({ type: "token", text });
/** A tool call the model asks for. */
export const toolCall = (call: ToolCallRequest): LlmEvent => ({ type: "tool_call", call });
/** Token usage of a round. */
export const usage = (inputTokens: number, outputTokens: number): LlmEvent => ({
  type: "usage",
  inputTokens,
  outputTokens,
});

/** Streams `events`, one per microtask, as a server's stream would arrive. */
export async function* play(events: LlmEvent[]): AsyncIterable<LlmEvent> {
  for (const event of events) {
    await Promise.resolve();
    yield event;
  }
}

/** Streams one scripted round per request and keeps a copy of each request as it was made. */
export class ScriptedLlm implements Llm {
  readonly defaults = { model: "scripted", api: "chat" as const };
  readonly requests: (Omit<LlmRequest, "history"> & { history: ChatTurn[] })[] = [];

  constructor(private readonly rounds: Round[]) {}

  stream(request: LlmRequest): AsyncIterable<LlmEvent> {
    this.requests.push({ ...request, history: structuredClone([...request.history]) });
    const round = this.rounds[this.requests.length - 1];
    if (!round) throw new Error(`no round ${this.requests.length} in the script`);
    return typeof round === "function" ? round(request) : play(round);
  }
}
