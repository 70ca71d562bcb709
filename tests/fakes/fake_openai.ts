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
 *
 * This file is the server (routes, auth, scripts, the streams' pacing); what a request may hold
 * is `openai_request_rules.ts`, the wire format of each API's stream `openai_stream_formats.ts`.
 *
 * @module
 */

import type { TlsCert } from "../helpers/test_ca.ts";
import {
  structuredAnswer,
  structuredFormat,
  type StructuredReply,
} from "./fake_structured_outputs.ts";
import {
  errorResponse,
  HttpError,
  validateChat,
  validateResponses,
} from "./openai_request_rules.ts";
import { ChatFormat, ResponsesFormat } from "./openai_stream_formats.ts";

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
