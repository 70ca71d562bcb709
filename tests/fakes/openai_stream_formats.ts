/**
 * The two SSE stream formats of the fake OpenAI text server: Chat Completions chunks (`data:`
 * lines ending with `data: [DONE]`) and Responses API events (`event:` + `data:`, with a sequence
 * number), in the field order the real APIs send, with usage at the end, function calls, and the
 * in-band failures (an `error`, or the Responses API's `response.failed` as OpenAI's docs show
 * it, kept in `tests/fixtures/openai_responses_stream.json`).
 *
 * @module
 */

import responsesStream from "../fixtures/openai_responses_stream.json" with { type: "json" };

/** The Responses API's streaming events as OpenAI's docs show them. */
const RESPONSES_EVENTS = responsesStream.events as unknown as Record<
  "response.failed",
  { type: string; response: Record<string, unknown> }
>;

type Json = Record<string, unknown>;

/** One SSE message: `data:` (and `event:` when named). */
function sse(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;
}

/** Chat Completions chunks, as `data:` lines ending with `data: [DONE]`. */
export class ChatFormat {
  readonly id = `chatcmpl-${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
  readonly created = Math.floor(Date.now() / 1000);
  readonly includeUsage: boolean;
  constructor(readonly body: Json) {
    this.includeUsage = (body.stream_options as Json | undefined)?.include_usage === true;
  }
  /** The fields every chunk of this completion shares. */
  #envelope(): Json {
    return {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.body.model,
      service_tier: "default",
      system_fingerprint: "fp_fake",
    };
  }
  #chunk(delta: Json, finish: string | null): string {
    return sse({
      ...this.#envelope(),
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(this.includeUsage ? { usage: null } : {}),
    });
  }
  start(_message = true): string[] {
    return [this.#chunk({ role: "assistant", content: "", refusal: null }, null)];
  }
  delta(text: string): string {
    return this.#chunk({ content: text }, null);
  }
  /** Each call as a first chunk (id, name, empty arguments) and its arguments in two pieces. */
  toolCalls(calls: { id: string; name: string; arguments: string }[]): string[] {
    return calls.flatMap((c, index) => {
      const half = Math.ceil(c.arguments.length / 2);
      return [
        this.#chunk({
          tool_calls: [{
            index,
            id: c.id,
            type: "function",
            function: { name: c.name, arguments: "" },
          }],
        }, null),
        this.#chunk({
          tool_calls: [{ index, function: { arguments: c.arguments.slice(0, half) } }],
        }, null),
        this.#chunk(
          { tool_calls: [{ index, function: { arguments: c.arguments.slice(half) } }] },
          null,
        ),
      ];
    });
  }
  end(text: string, calls: { id: string; name: string; arguments: string }[] = []): string[] {
    const out = [...this.toolCalls(calls), this.#chunk({}, calls.length ? "tool_calls" : "stop")];
    if (this.includeUsage) {
      const u = {
        input: JSON.stringify(this.body.messages).length >> 2,
        output: Math.ceil(text.length / 4),
      };
      out.push(sse({
        ...this.#envelope(),
        choices: [],
        usage: {
          prompt_tokens: u.input,
          completion_tokens: u.output,
          total_tokens: u.input + u.output,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: {
            reasoning_tokens: 0,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
          },
        },
      }));
    }
    out.push("data: [DONE]\n\n");
    return out;
  }
  /** Chat Completions has no `response.failed`: a failure in-band is its error chunk. */
  failed(): string {
    return this.error();
  }
  error(): string {
    return sse({
      error: {
        message: "The server had an error while processing your request. Sorry about that!",
        type: "server_error",
        param: null,
        code: null,
      },
    });
  }
}

/** Responses API events, each as `event:` + `data:` with a sequence number. */
export class ResponsesFormat {
  readonly id = `resp_${crypto.randomUUID().replaceAll("-", "")}`;
  readonly itemId = `msg_${crypto.randomUUID().replaceAll("-", "")}`;
  readonly createdAt = Math.floor(Date.now() / 1000);
  #seq = 0;
  constructor(readonly body: Json) {}
  #event(type: string, data: Json): string {
    return sse({ type, sequence_number: this.#seq++, ...data }, type);
  }
  #response(status: string, output: Json[], extra: Json = {}): Json {
    return {
      id: this.id,
      object: "response",
      created_at: this.createdAt,
      status,
      background: false,
      error: null,
      incomplete_details: null,
      instructions: this.body.instructions ?? null,
      max_output_tokens: null,
      model: this.body.model,
      output,
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: this.body.store ?? true,
      temperature: 1,
      text: { format: { type: "text" }, verbosity: "medium" },
      tool_choice: "auto",
      tools: [],
      top_p: 1,
      truncation: "disabled",
      usage: null,
      user: null,
      metadata: {},
      ...extra,
    };
  }
  #message(status: string, text: string | null): Json {
    return {
      id: this.itemId,
      type: "message",
      status,
      role: "assistant",
      content: text === null ? [] : [{ type: "output_text", annotations: [], logprobs: [], text }],
    };
  }
  start(message = true): string[] {
    const created = [
      this.#event("response.created", { response: this.#response("in_progress", []) }),
      this.#event("response.in_progress", { response: this.#response("in_progress", []) }),
    ];
    if (!message) return created;
    return [
      ...created,
      this.#event("response.output_item.added", {
        output_index: 0,
        item: this.#message("in_progress", null),
      }),
      this.#event("response.content_part.added", {
        item_id: this.itemId,
        output_index: 0,
        content_index: 0,
        part: { type: "output_text", annotations: [], logprobs: [], text: "" },
      }),
    ];
  }
  delta(text: string): string {
    return this.#event("response.output_text.delta", {
      item_id: this.itemId,
      output_index: 0,
      content_index: 0,
      delta: text,
      logprobs: [],
    });
  }
  #calls: Json[] = [];
  /** Function calls as output items after the message (output index 1…) or alone (0…). */
  toolCalls(
    calls: { id: string; name: string; arguments: string }[],
    afterText: boolean,
  ): string[] {
    const first = afterText ? 1 : 0;
    return calls.flatMap((c, i) => {
      const id = `fc_${crypto.randomUUID().replaceAll("-", "")}`;
      const item = (status: string, args: string) => ({
        id,
        type: "function_call",
        status,
        arguments: args,
        call_id: c.id,
        name: c.name,
      });
      const done = item("completed", c.arguments);
      this.#calls.push(done);
      const output_index = first + i;
      return [
        this.#event("response.output_item.added", { output_index, item: item("in_progress", "") }),
        this.#event("response.function_call_arguments.delta", {
          item_id: id,
          output_index,
          delta: c.arguments,
        }),
        this.#event("response.function_call_arguments.done", {
          item_id: id,
          output_index,
          name: c.name,
          arguments: c.arguments,
        }),
        this.#event("response.output_item.done", { output_index, item: done }),
      ];
    });
  }
  end(text: string, calls: { id: string; name: string; arguments: string }[] = []): string[] {
    const inputTokens = JSON.stringify(this.body.input).length >> 2;
    const outputTokens = Math.ceil(text.length / 4) + 10 * calls.length;
    const message = text !== "" || calls.length === 0;
    const messageDone = message
      ? [
        this.#event("response.output_text.done", {
          item_id: this.itemId,
          output_index: 0,
          content_index: 0,
          text,
          logprobs: [],
        }),
        this.#event("response.content_part.done", {
          item_id: this.itemId,
          output_index: 0,
          content_index: 0,
          part: { type: "output_text", annotations: [], logprobs: [], text },
        }),
        this.#event("response.output_item.done", {
          output_index: 0,
          item: this.#message("completed", text),
        }),
      ]
      : [];
    const callEvents = this.toolCalls(calls, message);
    return [
      ...messageDone,
      ...callEvents,
      this.#event("response.completed", {
        response: this.#response(
          "completed",
          [...(message ? [this.#message("completed", text)] : []), ...this.#calls],
          {
            usage: responseUsage(inputTokens, outputTokens),
          },
        ),
      }),
    ];
  }
  /** `response.failed` as the docs' example shows it, for this response. */
  failed(): string {
    const example = RESPONSES_EVENTS["response.failed"];
    return this.#event("response.failed", {
      response: {
        ...example.response,
        id: this.id,
        created_at: this.createdAt,
        instructions: this.body.instructions ?? null,
        model: this.body.model,
        store: this.body.store ?? true,
      },
    });
  }
  error(): string {
    return this.#event("error", {
      code: "server_error",
      message: "The server had an error while processing your request.",
      param: null,
    });
  }
}

/** A Responses API `usage` object, in the API reference's field order. */
export function responseUsage(inputTokens: number, outputTokens: number) {
  return {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + outputTokens,
  };
}
