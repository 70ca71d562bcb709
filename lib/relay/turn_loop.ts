/**
 * One reply of the model on the relay path: streamed, with the tool rounds it asks for, until it
 * answers in text or is aborted. The loop knows nothing of sockets: it reads and writes the
 * {@link HeardHistory} and tells its caller about each token and each round of tools.
 *
 * @module
 */

import type { ToolDeclaration } from "../agents/tools.ts";
import type { AssistantTurn, HeardHistory, ToolTurn } from "./heard_history.ts";
import type { Llm, ToolCallRequest } from "./llm.ts";
import type { TextModel } from "../agents/model_settings.ts";

/**
 * Requests to the model in one reply: a reply that still asks for tools in its last allowed
 * request (after this many less one rounds of tools) is failed.
 */
export const MAX_TOOL_ROUNDS = 5;

/** What one reply runs with and reports to. */
export interface TurnLoop {
  llm: Llm;
  /** The agent's model settings (unset: the configured defaults). */
  model?: TextModel;
  instructions: string;
  tools: readonly ToolDeclaration[];
  history: HeardHistory;
  /** Aborted by an interrupt, a new prompt or the end of the call: the HTTP stream stops now. */
  signal: AbortSignal;
  /** A round's first token: its text entry is `message` (already in the history). */
  onTextStart(message: AssistantTurn): void;
  /** One token (already added to its history entry). */
  onText(token: string): void;
  /** Token usage of one round (input includes the cached tokens). */
  onUsage(inputTokens: number, outputTokens: number, cachedInputTokens: number): void;
  /** Runs one round's tool calls; their outputs go in `outputs` (already in the history). */
  runTools(calls: ToolCallRequest[], outputs: ToolTurn[]): Promise<void>;
}

/** How a reply ended (a model failure throws instead). */
export type TurnEnd =
  | { aborted: true }
  | {
    aborted: false; /** The reply's last text entry, or null if it had no text. */
    message: AssistantTurn | null;
  };

/** Runs one reply. */
export async function runTurnLoop(turn: TurnLoop): Promise<TurnEnd> {
  let spoken: AssistantTurn | null = null;
  for (let round = 0;; round++) {
    const calls: ToolCallRequest[] = [];
    let message: AssistantTurn | null = null;
    const events = turn.llm.stream({
      ...(turn.model ? { model: turn.model } : {}),
      instructions: turn.instructions,
      history: turn.history.snapshot(),
      tools: turn.tools,
      signal: turn.signal,
    });
    for await (const event of events) {
      if (turn.signal.aborted) return { aborted: true };
      if (event.type === "usage") {
        turn.onUsage(event.inputTokens, event.outputTokens, event.cachedInputTokens ?? 0);
      } else if (event.type === "tool_call") calls.push(event.call);
      else {
        if (!message) {
          message = turn.history.agentText();
          spoken = message;
          turn.onTextStart(message);
        }
        message.content += event.text;
        turn.onText(event.text);
      }
    }
    if (turn.signal.aborted) return { aborted: true };
    if (calls.length === 0) return { aborted: false, message: spoken };
    if (round + 1 >= MAX_TOOL_ROUNDS) throw new Error("too many tool rounds in one turn");
    const outputs = turn.history.toolCalls(message, calls);
    await turn.runTools(calls, outputs);
    if (turn.signal.aborted) return { aborted: true };
  }
}
