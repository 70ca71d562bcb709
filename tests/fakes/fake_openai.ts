/**
 * A protocol-faithful fake of OpenAI's streaming text APIs (Chat Completions and Responses), on
 * 127.0.0.1, for tests and benchmarks.
 *
 * It validates requests the way the real service does (auth, body shape, unknown parameters),
 * streams replies in the exact SSE wire format, records every request body and detects when the
 * client closes a stream early. A reply can also fail the way the real API fails in-band (an
 * `error` event, or the Responses API's `response.failed` as OpenAI's docs show it, kept in
 * `tests/fixtures/openai_responses_stream.json`), or write its tokens in a burst that is already
 * on the wire when the client aborts.
 */

import responsesStream from "../fixtures/openai_responses_stream.json" with { type: "json" };
import type { TlsCert } from "../helpers/test_ca.ts";
import {
  structuredAnswer,
  StructuredError,
  structuredFormat,
  type StructuredReply,
} from "./fake_structured_outputs.ts";

/** The Responses API's streaming events as OpenAI's docs show them. */
const RESPONSES_EVENTS = responsesStream.events as unknown as Record<
  "response.failed",
  { type: string; response: Record<string, unknown> }
>;

/** How the fake answers one request. Requests with no script left get an echo reply. */
export interface ScriptedReply {
  /** Text deltas, in order (default: "You said: <last user text>" word by word). */
  tokens?: string[];
  /** Function calls the reply asks for, after its tokens (parallel when several). */
  toolCalls?: { name: string; arguments: string }[];
  /** Delay before each token, in ms (0 = as fast as possible). */
  tokenDelayMs?: number;
  /** Emit this many tokens, then wait for `release()` (or the client to go away). */
  holdAfter?: number;
  /** Answer with this HTTP error status instead of a stream. */
  status?: number;
  /** Close the connection abruptly after this many tokens. */
  breakAfter?: number;
  /** Stop sending after this many tokens but keep the connection open. */
  stallAfter?: number;
  /** After the tokens, report an error in-band instead of completing. */
  errorEvent?: boolean;
  /**
   * Responses API: after the tokens the response fails, `response.failed` (the docs' example,
   * with this response's id and model), and the stream ends. Chat Completions has no such event:
   * there it is the in-band error of {@link errorEvent}.
   */
  responseFailed?: boolean;
  /**
   * Emit this many tokens, wait for `release()`, then write every token left in one write, with
   * no wait between them: they are on the wire whatever the client does meanwhile (tokens already
   * in flight when it aborts). The reply then completes, unless the client went away.
   */
  burstAfter?: number;
  /** After the tokens, send a frame that is not JSON (a broken proxy, a truncated write). */
  garbage?: boolean;
}

/** One request the fake received. */
export interface RecordedRequest {
  api: "chat" | "responses";
  body: Record<string, unknown>;
  headers: Headers;
  tokensSent: string[];
  /** `performance.now()` when the request arrived (the benchmark's time to first token). */
  receivedAt: number;
  /** Set when the client closed the stream before it ended. */
  abortedAt: number | null;
  /** Resolves when the client goes away before the end of the stream. */
  aborted: Promise<void>;
  /** Resolves when the stream ends, however it ends. */
  finished: Promise<void>;
  /** Lets a held reply continue. */
  release(): void;
}

/** Called with each token as it is written (benchmarks read `performance.now()` here). */
export type TokenHook = (request: RecordedRequest, token: string, index: number) => void;

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

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly param: string | null = null) {
    super(message);
  }
}

/** The fake server. */
export class FakeOpenAI {
  readonly requests: RecordedRequest[] = [];
  /** The key clients must send (`Authorization: Bearer …`). */
  readonly apiKey: string;
  onToken: TokenHook | null = null;
  #scripts: ScriptedReply[] = [];
  #structured: StructuredReply[] = [];
  /** The structured-output (non-streaming) requests received, in order. */
  readonly structuredRequests: { api: "chat" | "responses"; body: Record<string, unknown> }[] = [];
  #server: Deno.HttpServer<Deno.NetAddr> | null = null;
  #scheme = "http";
  #waiters: { count: number; resolve: () => void }[] = [];
  #timers = new Set<ReturnType<typeof setTimeout>>();

  /** Takes WebSocket upgrades (the Realtime API under the same base URL), when set. */
  readonly #upgrade: ((req: Request) => Response | Promise<Response>) | null;
  /** Answers the REST requests it knows (e.g. the SIP calls' accept), null for the rest. */
  readonly #rest: ((req: Request) => Promise<Response | null>) | null;

  constructor(
    options: {
      apiKey?: string;
      upgrade?: (req: Request) => Response | Promise<Response>;
      rest?: (req: Request) => Promise<Response | null>;
    } = {},
  ) {
    this.apiKey = options.apiKey ?? "sk-test-fake-key";
    this.#upgrade = options.upgrade ?? null;
    this.#rest = options.rest ?? null;
  }

  /** Starts listening; returns the base URL to use as `OPENAI_BASE_URL` (https with `tls`). */
  start(options: { tls?: TlsCert } = {}): string {
    this.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {}, ...options.tls },
      (req) => this.#handle(req),
    );
    this.#scheme = options.tls ? "https" : "http";
    return this.baseUrl;
  }

  /** `http://127.0.0.1:PORT/v1` (`https://` when started with TLS). */
  get baseUrl(): string {
    if (!this.#server) throw new Error("fake not started");
    return `${this.#scheme}://127.0.0.1:${this.#server.addr.port}/v1`;
  }

  /** Queues replies for the next requests, in order. */
  script(...replies: ScriptedReply[]): void {
    this.#scripts.push(...replies);
  }

  /** Queues answers for the next structured-output requests, in order. */
  scriptStructured(...replies: StructuredReply[]): void {
    this.#structured.push(...replies);
  }

  /** Resolves once `count` requests in all have arrived; returns the last of them. */
  async waitForRequests(count: number): Promise<RecordedRequest> {
    if (this.requests.length < count) {
      await new Promise<void>((resolve) => this.#waiters.push({ count, resolve }));
    }
    return this.requests[count - 1];
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    for (const r of this.requests) r.release();
    await this.#server?.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (this.#upgrade && req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      return await this.#upgrade(req);
    }
    const other = this.#rest ? await this.#rest(req) : null;
    if (other) return other;
    try {
      if (req.method === "GET" && url.pathname === "/v1/models") {
        this.#checkAuth(req.headers.get("authorization"));
        return Response.json({
          object: "list",
          data: [{ id: "gpt-test", object: "model", created: 0, owned_by: "fake" }],
        });
      }
      if (req.method !== "POST") {
        throw new HttpError(404, `Invalid URL (${req.method} ${url.pathname})`);
      }
      const api = url.pathname === "/v1/chat/completions"
        ? "chat"
        : url.pathname === "/v1/responses"
        ? "responses"
        : null;
      if (!api) throw new HttpError(404, `Invalid URL (POST ${url.pathname})`);
      this.#checkAuth(req.headers.get("authorization"));
      let body: unknown;
      try {
        body = await req.json();
      } catch {
        throw new HttpError(400, "We could not parse the JSON body of your request.");
      }
      if (!body || typeof body !== "object" || Array.isArray(body)) {
        throw new HttpError(400, "The request body must be a JSON object.");
      }
      const format = structuredFormat(api, body as Json);
      if (api === "chat") validateChat(body as Json, format !== null);
      else validateResponses(body as Json, format !== null);
      if (format && (body as Json).stream !== true) {
        this.structuredRequests.push({ api, body: body as Json });
        // A reply queued for a format (the caller's, the judge's) waits for a request of it.
        const i = this.#structured.findIndex((r) => !r.format || r.format === format.name);
        const reply = i < 0 ? {} : this.#structured.splice(i, 1)[0];
        if (reply.status) {
          return errorResponse(reply.status, "The server had an error processing your request.");
        }
        return Response.json(structuredAnswer(api, body as Json, { schema: format.schema, reply }));
      }
      return this.#stream(api, body as Json, req);
    } catch (err) {
      if (err instanceof StructuredError) return errorResponse(err.status, err.message, err.param);
      if (err instanceof HttpError) return errorResponse(err.status, err.message, err.param);
      throw err;
    }
  }

  #checkAuth(header: string | null): void {
    if (!header || !header.startsWith("Bearer ")) {
      throw new HttpError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization " +
          "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      );
    }
    if (header.slice(7) !== this.apiKey) {
      throw new HttpError(401, "Incorrect API key provided.");
    }
  }

  #stream(api: "chat" | "responses", body: Json, req: Request): Response {
    const script = this.#scripts.shift() ?? {};
    let releaseHold = () => {};
    const hold = new Promise<void>((resolve) => (releaseHold = resolve));
    let markAborted = () => {};
    let markFinished = () => {};
    const record: RecordedRequest = {
      api,
      body,
      headers: req.headers,
      tokensSent: [],
      receivedAt: performance.now(),
      abortedAt: null,
      aborted: new Promise<void>((resolve) => (markAborted = resolve)),
      finished: new Promise<void>((resolve) => (markFinished = resolve)),
      release: () => releaseHold(),
    };
    this.requests.push(record);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.requests.length >= w.count) w.resolve();
      return this.requests.length < w.count;
    });
    if (script.status) {
      markFinished();
      return errorResponse(script.status, "The server had an error while processing your request.");
    }
    const tokens = script.tokens ?? (script.toolCalls ? [] : echoTokens(api, body));
    const toolCalls = (script.toolCalls ?? []).map((c) => ({
      ...c,
      id: `call_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
    }));
    const format = api === "chat" ? new ChatFormat(body) : new ResponsesFormat(body);
    let done = false;
    const onGone = () => {
      if (done) return;
      done = true;
      record.abortedAt = performance.now();
      markAborted();
      markFinished();
      releaseHold();
    };
    const encoder = new TextEncoder();
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.#timers.delete(t);
          resolve();
        }, ms);
        this.#timers.add(t);
      });
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const write = (text: string) => {
          if (!done) controller.enqueue(encoder.encode(text));
        };
        const run = async () => {
          for (const event of format.start(tokens.length > 0 || toolCalls.length === 0)) {
            write(event);
          }
          for (let i = 0; i < tokens.length && !done; i++) {
            if (script.holdAfter === i) await hold;
            if (script.burstAfter === i) {
              await hold;
              if (done) return;
              const burst = tokens.slice(i);
              burst.forEach((token, j) => {
                record.tokensSent.push(token);
                this.onToken?.(record, token, i + j);
              });
              write(burst.map((token) => format.delta(token)).join(""));
              break;
            }
            if (script.stallAfter === i) {
              await hold; // never released by the script: the client's timeout must act
              return;
            }
            if (script.breakAfter === i) {
              await sleep(30); // let the tokens already written reach the client first
              done = true;
              markFinished();
              controller.error(new Error("connection broken by the fake"));
              return;
            }
            if (script.tokenDelayMs) await sleep(script.tokenDelayMs);
            if (done) return;
            record.tokensSent.push(tokens[i]);
            write(format.delta(tokens[i]));
            this.onToken?.(record, tokens[i], i);
          }
          if (done) return;
          if (script.holdAfter === tokens.length) await hold;
          if (done) return;
          if (script.errorEvent) write(format.error());
          else if (script.responseFailed) write(format.failed());
          else if (script.garbage) write('data: {"id": "chatcmpl-x", "choices": [\n\n');
          else {
            for (const event of format.end(tokens.join(""), toolCalls)) write(event);
          }
          done = true;
          markFinished();
          controller.close();
        };
        run().catch(() => {});
      },
      cancel: onGone,
    });
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-request-id": `req_${crypto.randomUUID().replaceAll("-", "")}`,
      },
    });
  }
}

function errorResponse(status: number, message: string, param: string | null = null): Response {
  const type = status === 401
    ? "invalid_request_error"
    : status >= 500
    ? "server_error"
    : "invalid_request_error";
  const code = status === 401 ? "invalid_api_key" : null;
  return Response.json({ error: { message, type, param, code } }, { status });
}

function lastUserText(api: "chat" | "responses", body: Json): string {
  const items = (api === "chat" ? body.messages : body.input) as Json[] | string;
  if (typeof items === "string") return items;
  const last = [...items].reverse().find((m) => m.role === "user");
  return typeof last?.content === "string" ? last.content : "";
}

function echoTokens(api: "chat" | "responses", body: Json): string[] {
  const words = `You said: ${lastUserText(api, body)}`.split(" ");
  return words.map((w, i) => (i < words.length - 1 ? `${w} ` : w));
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

function validateChat(body: Json, structured = false): void {
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

function validateResponses(body: Json, structured = false): void {
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

function sse(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;
}

/** Chat Completions chunks, as `data:` lines ending with `data: [DONE]`. */
class ChatFormat {
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
class ResponsesFormat {
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
            usage: {
              input_tokens: inputTokens,
              input_tokens_details: { cached_tokens: 0 },
              output_tokens: outputTokens,
              output_tokens_details: { reasoning_tokens: 0 },
              total_tokens: inputTokens + outputTokens,
            },
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
