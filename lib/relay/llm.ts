/**
 * Streaming text replies from an OpenAI-compatible server through the `openai` SDK, with either
 * Chat Completions or the Responses API behind one interface.
 *
 * Each request may name its own model, API, temperature and token limit (the agent's, see
 * `agents/model_settings.ts`); what it leaves out is the configuration's. Only what the API
 * takes is sent: `max_completion_tokens` (Chat) or `max_output_tokens` (Responses), and no
 * temperature or limit at all when unset.
 *
 * Aborting the signal closes the HTTP stream at once; a server that goes quiet for longer than the
 * timeout fails the turn with {@link LlmTimeoutError}.
 *
 * @module
 */

import OpenAI from "openai";
import type { Config, OpenAiApi } from "../platform/config.ts";
import type { ToolDeclaration } from "../agents/tools.ts";
import type { TextModel } from "../agents/model_settings.ts";

/** A function call the model asked for. */
export interface ToolCallRequest {
  id: string;
  name: string;
  arguments: string;
}

/** One entry of the conversation history. */
export type ChatTurn =
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: ToolCallRequest[] }
  | { role: "tool"; callId: string; output: string };

/** What a streamed reply yields. */
export type LlmEvent =
  | { type: "token"; text: string }
  | { type: "tool_call"; call: ToolCallRequest }
  | {
    type: "usage";
    /** Input tokens, the cached ones included. */
    inputTokens: number;
    outputTokens: number;
    /** Input tokens read from the prompt cache (billed lower). */
    cachedInputTokens?: number;
  };

/** A request for one streamed reply. */
export interface LlmRequest {
  instructions: string;
  history: readonly ChatTurn[];
  tools?: readonly ToolDeclaration[];
  signal: AbortSignal;
  /** The model, API, temperature and limit of this request; unset = the configured defaults. */
  model?: TextModel;
}

/** Streams replies; one instance serves every call. */
export interface Llm {
  /** The configured model and API (`OPENAI_MODEL`, `OPENAI_API`). */
  readonly defaults: { model: string; api: OpenAiApi };
  stream(request: LlmRequest): AsyncIterable<LlmEvent>;
}

/** The server sent nothing for longer than the configured timeout. */
export class LlmTimeoutError extends Error {
  constructor(ms: number) {
    super(`no data from the model for ${ms} ms`);
    this.name = "LlmTimeoutError";
  }
}

/** The stream reported a failure in-band (Responses `error` / `response.failed`). */
export class LlmStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LlmStreamError";
  }
}

/** Builds the process's LLM client, or null when no API key is configured. */
export function createLlm(openai: Config["openai"]): Llm | null {
  if (!openai.apiKey) return null;
  const client = new OpenAI({
    apiKey: openai.apiKey,
    baseURL: openai.baseUrl,
    // A caller is waiting: fail fast and apologise rather than retry silently.
    maxRetries: 0,
    timeout: openai.timeoutMs,
  });
  return new OpenAiLlm(client, { model: openai.model, api: openai.api }, openai.timeoutMs);
}

class OpenAiLlm implements Llm {
  constructor(
    private readonly client: OpenAI,
    readonly defaults: { model: string; api: OpenAiApi },
    private readonly timeoutMs: number,
  ) {}

  async *stream(request: LlmRequest): AsyncIterable<LlmEvent> {
    // Our own controller, so the idle timer can abort the HTTP stream too.
    const controller = new AbortController();
    const onAbort = () => controller.abort(request.signal.reason);
    if (request.signal.aborted) return;
    request.signal.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new LlmTimeoutError(this.timeoutMs));
      }, this.timeoutMs);
    };
    arm();
    try {
      const model = request.model ??
        { ...this.defaults, temperature: null, maxOutputTokens: null };
      const events = model.api === "chat"
        ? this.#chat(request, model, controller.signal)
        : this.#responses(request, model, controller.signal);
      for await (const event of events) {
        arm();
        yield event;
      }
      // The SDK ends an aborted stream quietly: a timeout must still fail the turn.
      if (timedOut) throw new LlmTimeoutError(this.timeoutMs);
    } catch (err) {
      if (timedOut) throw new LlmTimeoutError(this.timeoutMs);
      if (request.signal.aborted) return;
      throw err;
    } finally {
      clearTimeout(timer);
      request.signal.removeEventListener("abort", onAbort);
      // Leaving the loop early (interrupt) must close the HTTP stream now, not at the next token.
      controller.abort();
    }
  }

  async *#chat(
    request: LlmRequest,
    model: TextModel,
    signal: AbortSignal,
  ): AsyncIterable<LlmEvent> {
    const tools = request.tools?.length
      ? {
        tools: request.tools.map((t) => ({ type: "function" as const, function: { ...t } })),
        parallel_tool_calls: true,
      }
      : {};
    const stream = await this.client.chat.completions.create({
      model: model.model,
      ...(model.temperature !== null ? { temperature: model.temperature } : {}),
      ...(typeof model.maxOutputTokens === "number"
        ? { max_completion_tokens: model.maxOutputTokens }
        : {}),
      messages: [
        { role: "system", content: request.instructions },
        ...request.history.map(toChatMessage),
      ],
      stream: true,
      stream_options: { include_usage: true },
      ...tools,
    }, { signal });
    // Tool calls arrive in pieces, keyed by index; they are complete when the stream ends.
    const calls: ToolCallRequest[] = [];
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      if (delta?.content) yield { type: "token", text: delta.content };
      for (const piece of delta?.tool_calls ?? []) {
        const call = calls[piece.index] ??= { id: "", name: "", arguments: "" };
        if (piece.id) call.id = piece.id;
        if (piece.function?.name) call.name += piece.function.name;
        if (piece.function?.arguments) call.arguments += piece.function.arguments;
      }
      if (chunk.usage) {
        yield {
          type: "usage",
          inputTokens: chunk.usage.prompt_tokens,
          outputTokens: chunk.usage.completion_tokens,
          cachedInputTokens: chunk.usage.prompt_tokens_details?.cached_tokens ?? 0,
        };
      }
    }
    for (const call of calls) if (call) yield { type: "tool_call", call };
  }

  async *#responses(
    request: LlmRequest,
    model: TextModel,
    signal: AbortSignal,
  ): AsyncIterable<LlmEvent> {
    const stream = await this.client.responses.create({
      model: model.model,
      ...(model.temperature !== null ? { temperature: model.temperature } : {}),
      ...(typeof model.maxOutputTokens === "number"
        ? { max_output_tokens: model.maxOutputTokens }
        : {}),
      instructions: request.instructions,
      input: request.history.flatMap(toResponsesInput),
      stream: true,
      store: false,
      ...(request.tools?.length
        ? {
          tools: request.tools.map((t) => ({ type: "function" as const, strict: false, ...t })),
          parallel_tool_calls: true,
        }
        : {}),
    }, { signal });
    for await (const event of stream) {
      switch (event.type) {
        case "response.output_text.delta":
          if (event.delta) yield { type: "token", text: event.delta };
          break;
        case "response.output_item.done":
          if (event.item.type === "function_call") {
            const { call_id, name, arguments: args } = event.item;
            yield { type: "tool_call", call: { id: call_id, name, arguments: args } };
          }
          break;
        case "response.completed":
          if (event.response.usage) {
            yield {
              type: "usage",
              inputTokens: event.response.usage.input_tokens,
              outputTokens: event.response.usage.output_tokens,
              cachedInputTokens: event.response.usage.input_tokens_details?.cached_tokens ?? 0,
            };
          }
          break;
        case "response.failed":
          throw new LlmStreamError(event.response.error?.message ?? "response failed");
        case "error":
          throw new LlmStreamError(event.message);
      }
    }
  }
}

function toChatMessage(turn: ChatTurn): OpenAI.Chat.Completions.ChatCompletionMessageParam {
  switch (turn.role) {
    case "user":
      return { role: "user", content: turn.content };
    case "tool":
      return { role: "tool", tool_call_id: turn.callId, content: turn.output };
    case "assistant":
      if (!turn.toolCalls?.length) return { role: "assistant", content: turn.content };
      return {
        role: "assistant",
        content: turn.content || null,
        tool_calls: turn.toolCalls.map((c) => ({
          id: c.id,
          type: "function" as const,
          function: { name: c.name, arguments: c.arguments },
        })),
      };
  }
}

function toResponsesInput(turn: ChatTurn): OpenAI.Responses.ResponseInputItem[] {
  switch (turn.role) {
    case "user":
      return [{ role: "user", content: turn.content }];
    case "tool":
      return [{ type: "function_call_output", call_id: turn.callId, output: turn.output }];
    case "assistant":
      return [
        ...(turn.content ? [{ role: "assistant" as const, content: turn.content }] : []),
        ...(turn.toolCalls ?? []).map((c) => ({
          type: "function_call" as const,
          call_id: c.id,
          name: c.name,
          arguments: c.arguments,
        })),
      ];
  }
}
