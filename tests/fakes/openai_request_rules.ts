/**
 * The rules of the fake OpenAI text server's requests, as the real Chat Completions and
 * Responses APIs check them: the parameters each API knows (an unknown one is refused), the
 * message and input item roles, sampling (temperature from 0 to 2, none for a reasoning model)
 * and token limits, tool declarations, and tool calls paired with their outputs. A refusal is an
 * {@link HttpError} (status, message, `param`), answered by {@link errorResponse} in the API's
 * error body.
 *
 * @module
 */

type Json = Record<string, unknown>;

const CHAT_PARAMS = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "temperature",
  "top_p",
  "max_tokens",
  "max_completion_tokens",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "user",
  "metadata",
  "store",
  "n",
  "stop",
  "seed",
  "presence_penalty",
  "frequency_penalty",
  "response_format",
  "reasoning_effort",
  "service_tier",
  "logprobs",
  "top_logprobs",
  "modalities",
  "prediction",
  "verbosity",
]);

const RESPONSES_PARAMS = new Set([
  "model",
  "input",
  "instructions",
  "stream",
  "store",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "temperature",
  "top_p",
  "max_output_tokens",
  "previous_response_id",
  "metadata",
  "user",
  "text",
  "reasoning",
  "truncation",
  "include",
  "service_tier",
  "background",
  "prompt",
  "stream_options",
]);

const MESSAGE_ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);
const INPUT_ROLES = new Set(["system", "developer", "user", "assistant"]);

/** A request the real API refuses: status, message, `param`. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly param: string | null = null) {
    super(message);
  }
}

/** The API's error body (`error: {message, type, param, code}`) with this status. */
export function errorResponse(
  status: number,
  message: string,
  param: string | null = null,
): Response {
  const type = status === 401
    ? "invalid_request_error"
    : status >= 500
    ? "server_error"
    : "invalid_request_error";
  const code = status === 401 ? "invalid_api_key" : null;
  return Response.json({ error: { message, type, param, code } }, { status });
}

/** Reasoning models (o-series, gpt-5 but its chat variants): they refuse a temperature. */
const REASONING_MODEL = /^(o[1-9]|gpt-5(?!.*-chat))/;

/**
 * The sampling and length parameters as the API checks them: temperature from 0 to 2 (none for
 * a reasoning model), and a whole token limit of at least `minTokens`.
 */
function checkSampling(body: Json, limit: string, minTokens: number): void {
  const t = body.temperature;
  if (t !== undefined) {
    if (typeof t !== "number") {
      throw new HttpError(
        400,
        "Invalid type for 'temperature': expected a decimal.",
        "temperature",
      );
    }
    if (t < 0 || t > 2) {
      throw new HttpError(
        400,
        `Invalid 'temperature': decimal ${
          t > 2
            ? "above maximum value. Expected a value <= 2"
            : "below minimum value. Expected a value >= 0"
        }, but got ${t} instead.`,
        "temperature",
      );
    }
    if (REASONING_MODEL.test(String(body.model))) {
      throw new HttpError(
        400,
        "Unsupported parameter: 'temperature' is not supported with this model.",
        "temperature",
      );
    }
  }
  const n = body[limit];
  if (n !== undefined) {
    if (typeof n !== "number" || !Number.isInteger(n)) {
      throw new HttpError(400, `Invalid type for '${limit}': expected an integer.`, limit);
    }
    if (n < minTokens) {
      throw new HttpError(
        400,
        `Invalid '${limit}': integer below minimum value. ` +
          `Expected a value >= ${minTokens}, but got ${n} instead.`,
        limit,
      );
    }
  }
}

/** Refuses (throws {@link HttpError}) a Chat Completions request the real API refuses. */
export function validateChat(body: Json, structured = false): void {
  for (const key of Object.keys(body)) {
    if (!CHAT_PARAMS.has(key)) {
      throw new HttpError(400, `Unrecognized request argument supplied: ${key}`, key);
    }
  }
  checkSampling(body, "max_completion_tokens", 1);
  if (typeof body.model !== "string" || !body.model) {
    throw new HttpError(400, "you must provide a model parameter", "model");
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw new HttpError(400, "[] is too short - 'messages'", "messages");
  }
  body.messages.forEach((m: unknown, i: number) => {
    const msg = m as Json;
    if (!msg || typeof msg !== "object" || !MESSAGE_ROLES.has(msg.role as string)) {
      throw new HttpError(400, `Invalid value for 'messages[${i}].role'.`, `messages[${i}].role`);
    }
    const content = msg.content;
    const hasToolCalls = Array.isArray(msg.tool_calls) && msg.tool_calls.length > 0;
    if (
      typeof content !== "string" && !Array.isArray(content) && !(content == null && hasToolCalls)
    ) {
      throw new HttpError(
        400,
        `Invalid type for 'messages[${i}].content': expected one of a string or array of objects.`,
        `messages[${i}].content`,
      );
    }
  });
  checkChatToolPairs(body.messages as Json[]);
  if (body.tools !== undefined) checkTools(body.tools, (t) => (t.function ?? {}) as Json, "tools");
  if (body.stream !== undefined && typeof body.stream !== "boolean") {
    throw new HttpError(400, "Invalid type for 'stream': expected a boolean.", "stream");
  }
  if (body.stream_options !== undefined && body.stream !== true) {
    throw new HttpError(
      400,
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      "stream_options",
    );
  }
  if (body.stream !== true && !structured) {
    throw new HttpError(400, "This fake only serves streaming requests (or structured outputs).");
  }
}

/** Refuses (throws {@link HttpError}) a Responses request the real API refuses. */
export function validateResponses(body: Json, structured = false): void {
  for (const key of Object.keys(body)) {
    if (!RESPONSES_PARAMS.has(key)) throw new HttpError(400, `Unknown parameter: '${key}'.`, key);
  }
  checkSampling(body, "max_output_tokens", 16);
  if (typeof body.model !== "string" || !body.model) {
    throw new HttpError(400, "Missing required parameter: 'model'.", "model");
  }
  if (
    body.instructions !== undefined && body.instructions !== null &&
    typeof body.instructions !== "string"
  ) {
    throw new HttpError(400, "Invalid type for 'instructions': expected a string.", "instructions");
  }
  const input = body.input;
  if (typeof input !== "string") {
    if (!Array.isArray(input)) {
      throw new HttpError(400, "Invalid type for 'input': expected a string or an array.", "input");
    }
    input.forEach((item: unknown, i: number) => {
      const it = item as Json;
      const type = it?.type ?? "message";
      if (type === "message") {
        if (!INPUT_ROLES.has(it.role as string)) {
          throw new HttpError(
            400,
            `Invalid value: '${
              String(it.role)
            }'. Supported values are: 'assistant', 'system', 'developer', and 'user'.`,
            `input[${i}].role`,
          );
        }
        if (typeof it.content !== "string" && !Array.isArray(it.content)) {
          throw new HttpError(
            400,
            `Invalid type for 'input[${i}].content'.`,
            `input[${i}].content`,
          );
        }
      } else if (type !== "function_call" && type !== "function_call_output") {
        throw new HttpError(400, `Invalid value: '${String(type)}'.`, `input[${i}].type`);
      }
    });
    checkResponsesToolPairs(input as Json[]);
  }
  if (body.tools !== undefined) checkTools(body.tools, (t) => t, "tools");
  if (body.stream !== true && !structured) {
    throw new HttpError(400, "This fake only serves streaming requests (or structured outputs).");
  }
}

/** Every assistant tool call must be answered by a tool message right after it, and vice versa. */
function checkChatToolPairs(messages: Json[]): void {
  let pending: string[] = [];
  messages.forEach((m, i) => {
    if (m.role === "tool") {
      const id = m.tool_call_id as string;
      if (!pending.includes(id)) {
        throw new HttpError(
          400,
          "Invalid parameter: messages with role 'tool' must be a response to a preceeding " +
            "message with 'tool_calls'.",
          `messages.[${i}].role`,
        );
      }
      pending = pending.filter((p) => p !== id);
      return;
    }
    if (pending.length > 0) throw unanswered(pending);
    if (m.role === "assistant" && Array.isArray(m.tool_calls)) {
      pending = (m.tool_calls as Json[]).map((c) => c.id as string);
    }
  });
  if (pending.length > 0) throw unanswered(pending);
}

/** The real API's error for tool calls left without a tool message. */
function unanswered(ids: string[]): HttpError {
  return new HttpError(
    400,
    "An assistant message with 'tool_calls' must be followed by tool messages responding to " +
      "each 'tool_call_id'. The following tool_call_ids did not have response messages: " +
      ids.join(", "),
    "messages",
  );
}

/** Every function_call needs its output, and every output a call before it. */
function checkResponsesToolPairs(input: Json[]): void {
  const calls = new Set<string>();
  const outputs = new Set<string>();
  for (const item of input) {
    if (item.type === "function_call") calls.add(item.call_id as string);
    if (item.type === "function_call_output") {
      const id = item.call_id as string;
      if (!calls.has(id)) {
        throw new HttpError(
          400,
          `No tool call found for function call output with call_id ${id}.`,
          "input",
        );
      }
      outputs.add(id);
    }
  }
  for (const id of calls) {
    if (!outputs.has(id)) {
      throw new HttpError(400, `No tool output found for function call ${id}.`, "input");
    }
  }
}

/** Tool declarations need a name and an object schema. */
function checkTools(tools: unknown, fn: (t: Json) => Json, param: string): void {
  if (!Array.isArray(tools)) throw new HttpError(400, `Invalid type for '${param}'.`, param);
  tools.forEach((t: Json, i: number) => {
    const f = fn(t);
    if (
      t.type !== "function" || typeof f.name !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(f.name)
    ) {
      throw new HttpError(400, `Invalid value for '${param}[${i}]'.`, `${param}[${i}]`);
    }
    const parameters = f.parameters as Json | undefined;
    if (parameters && parameters.type !== "object") {
      throw new HttpError(
        400,
        `Invalid schema for function '${f.name}': ` +
          `schema must be a JSON Schema of 'type: "object"'.`,
        `${param}[${i}].parameters`,
      );
    }
  });
}
