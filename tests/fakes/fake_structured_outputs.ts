/**
 * Structured outputs for the fake OpenAI server: non-streaming Chat Completions with
 * `response_format: { type: "json_schema", json_schema: { name, schema, strict } }` and Responses
 * with `text.format: { type: "json_schema", name, schema, strict }`, validated as the real API
 * validates a strict schema (every object `additionalProperties: false`, every property in
 * `required`, supported types only, a root object), answered with the scripted JSON or, unscripted,
 * the smallest value the schema admits.
 *
 * @module
 */

import { HttpError } from "./openai_request_rules.ts";
import { responseUsage } from "./openai_stream_formats.ts";

type Json = Record<string, unknown>;

/** How the fake answers one structured-output request. */
export interface StructuredReply {
  /** The answer (default: the smallest value the schema admits). */
  json?: unknown;
  /** Answer with this HTTP error status instead. */
  status?: number;
  /** The model refuses, with this text. */
  refusal?: string;
  /** The answer's text as is (not JSON: a model that broke the format). */
  rawText?: string;
  /**
   * Only for a request whose format has this name (a scenario's caller and judge play from
   * their own scripts, whatever order their requests come in); unset: the next request's.
   */
  format?: string;
}

const TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * The JSON Schema of a structured-output request, or null when it asks for none; throws
 * {@link HttpError} for a format the real API refuses.
 */
export function structuredFormat(
  api: "chat" | "responses",
  body: Json,
): { name: string; schema: Json } | null {
  const param = api === "chat" ? "response_format" : "text.format";
  const format = api === "chat"
    ? body.response_format as Json | undefined
    : (body.text as Json | undefined)?.format as Json | undefined;
  if (!format || format.type !== "json_schema") return null;
  const spec = (api === "chat" ? format.json_schema : format) as Json | undefined;
  if (!spec || typeof spec.name !== "string" || !NAME.test(spec.name)) {
    throw new HttpError(400, `Invalid value for '${param}.name'.`, `${param}.name`);
  }
  const schema = spec.schema as Json | undefined;
  if (!schema || typeof schema !== "object") {
    throw new HttpError(400, `Missing required parameter: '${param}.schema'.`, param);
  }
  if (spec.strict === true) checkStrict(schema, spec.name, param);
  return { name: spec.name, schema };
}

/** Throws what the API says about a schema strict mode does not take. */
function checkStrict(schema: Json, name: string, param: string): void {
  const fail = (context: string, text: string) => {
    throw new HttpError(
      400,
      `Invalid schema for response_format '${name}': In context=(${context}), ${text}`,
      param,
    );
  };
  if (schema.type !== "object") fail("", "schema must be a JSON Schema of 'type: \"object\"'.");
  const walk = (node: unknown, context: string[]) => {
    const where = context.map((c) => `'${c}'`).join(", ");
    if (!node || typeof node !== "object") return fail(where, "schema must be an object.");
    const s = node as Json;
    if (Array.isArray(s.anyOf)) {
      s.anyOf.forEach((sub, i) => walk(sub, [...context, "anyOf", String(i)]));
      return;
    }
    const types = [s.type ?? []].flat() as unknown[];
    if (types.length === 0 && s.enum === undefined && s.const === undefined) {
      fail(where, "schema must have a 'type' key.");
    }
    for (const t of types) {
      if (typeof t !== "string" || !TYPES.has(t)) fail(where, `type '${String(t)}' is invalid.`);
    }
    if (types.includes("object")) {
      if (s.additionalProperties !== false) {
        fail(where, "'additionalProperties' is required to be supplied and to be false.");
      }
      const properties = (s.properties ?? {}) as Json;
      const required = Array.isArray(s.required) ? s.required : [];
      const missing = Object.keys(properties).find((k) => !required.includes(k));
      if (missing !== undefined) {
        fail(
          where,
          `'required' is required to be supplied and to be an array including every key in ` +
            `properties. Missing '${missing}'.`,
        );
      }
      for (const [key, sub] of Object.entries(properties)) {
        walk(sub, [...context, "properties", key]);
      }
    }
    if (types.includes("array") && s.items !== undefined) walk(s.items, [...context, "items"]);
  };
  walk(schema, []);
}

/** The smallest value `schema` admits (first enum value, empty strings, zeros, nulls). */
export function smallestValue(schema: Json): unknown {
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.anyOf)) return smallestValue(schema.anyOf[0] as Json);
  const type = [schema.type].flat()[0];
  switch (type) {
    case "object":
      return Object.fromEntries(
        Object.entries((schema.properties ?? {}) as Record<string, Json>).map((
          [k, v],
        ) => [k, smallestValue(v)]),
      );
    case "array":
      return [];
    case "string":
      return "";
    case "number":
    case "integer":
      return 0;
    case "boolean":
      return false;
    default:
      return null;
  }
}

/** The API's answer to a structured-output request: a chat completion or a response. */
export function structuredAnswer(
  api: "chat" | "responses",
  body: Json,
  options: { schema: Json; reply: StructuredReply },
): Json {
  const { reply } = options;
  const text = reply.rawText ??
    JSON.stringify(reply.json !== undefined ? reply.json : smallestValue(options.schema));
  const inputTokens = Math.ceil(JSON.stringify(body).length / 4);
  const outputTokens = Math.ceil(text.length / 4);
  const created = Math.floor(Date.now() / 1000);
  const id = crypto.randomUUID().replaceAll("-", "").slice(0, 24);
  if (api === "chat") {
    return {
      id: `chatcmpl-${id}`,
      object: "chat.completion",
      created,
      model: body.model,
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content: reply.refusal ? null : text,
          refusal: reply.refusal ?? null,
          annotations: [],
        },
        logprobs: null,
        finish_reason: "stop",
      }],
      usage: {
        prompt_tokens: inputTokens,
        completion_tokens: outputTokens,
        total_tokens: inputTokens + outputTokens,
      },
      service_tier: "default",
      system_fingerprint: "fp_fake",
    };
  }
  const content = reply.refusal
    ? [{ type: "refusal", refusal: reply.refusal }]
    : [{ type: "output_text", annotations: [], logprobs: [], text }];
  return {
    id: `resp_${id}`,
    object: "response",
    created_at: created,
    status: "completed",
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: null,
    model: body.model,
    output: [{
      id: `msg_${id}`,
      type: "message",
      status: "completed",
      role: "assistant",
      content,
    }],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: body.store ?? true,
    temperature: 1,
    text: body.text,
    tool_choice: "auto",
    tools: [],
    top_p: 1,
    truncation: "disabled",
    usage: responseUsage(inputTokens, outputTokens),
    user: null,
    metadata: {},
  };
}
