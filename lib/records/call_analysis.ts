/**
 * The after-call analysis: one model request over a finished call's transcript that returns a
 * summary, one of the profile's outcome labels and the fields its JSON Schema asks for, through
 * structured outputs (Chat Completions `response_format`, or Responses `text.format`, both
 * `json_schema` with `strict: true`) on the same `openai` SDK as the relay path.
 *
 * Strict structured outputs accept a subset of JSON Schema: every object lists all its
 * properties in `required` and sets `additionalProperties: false`. {@link strictSchemaProblems}
 * says what a profile's `fields` schema lacks, so a schema the API would refuse is refused when
 * the profile is saved rather than when a call ends.
 *
 * @module
 */

import OpenAI from "openai";
import type { OpenAiApi } from "../platform/config.ts";
import type { CallAnalysis, TranscriptTurn } from "./call_store.ts";

/** `analysis` of an agent profile. */
export interface AnalysisSpec {
  /** How to summarise the call (what to say, how long). */
  summary: string;
  /** The labels one of which says how the call ended, with what each means. */
  outcomes: { label: string; description: string }[];
  /** A JSON Schema (an object) of the facts to extract; null = none. */
  fields: Record<string, unknown> | null;
}

/** The name of the structured output format in the request. */
export const ANALYSIS_FORMAT = "call_analysis";
/** The transcript's tail given to the model (a long call keeps its end: how it ended). */
const MAX_TRANSCRIPT_CHARS = 60_000;
/** JSON Schema types structured outputs support. */
const STRICT_TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);

type Json = Record<string, unknown>;

/** The strict JSON Schema of an analysis answer for `spec`. */
export function analysisSchema(spec: AnalysisSpec): Json {
  const outcome = spec.outcomes.length
    ? { type: "string", enum: spec.outcomes.map((o) => o.label) }
    : { type: "null" };
  const fields = spec.fields ?? { type: "null" };
  return {
    type: "object",
    additionalProperties: false,
    required: ["summary", "outcome", "fields"],
    properties: {
      summary: { type: "string", description: spec.summary },
      outcome: { ...outcome, description: "How the call ended." },
      fields,
    },
  };
}

/**
 * What keeps `schema` from being a strict structured-output schema, each problem starting with
 * `path` (e.g. `analysis.fields`): objects without `additionalProperties: false` or with
 * properties missing from `required`, types the API does not take, a root that is not an object.
 */
export function strictSchemaProblems(schema: unknown, path: string): string[] {
  const problems: string[] = [];
  if (!isObject(schema) || schema.type !== "object") {
    return [`${path} must be a JSON Schema of "type": "object"`];
  }
  walk(schema, path, problems, 0);
  return problems;
}

function walk(schema: unknown, path: string, problems: string[], depth: number): void {
  if (!isObject(schema)) {
    problems.push(`${path} must be a JSON Schema object`);
    return;
  }
  if (depth > 10) {
    problems.push(`${path} nests deeper than 10 levels (the API's limit)`);
    return;
  }
  const types = [schema.type ?? []].flat();
  for (const type of types) {
    if (typeof type !== "string" || !STRICT_TYPES.has(type)) {
      problems.push(`${path}.type ${JSON.stringify(type)} is not a type structured outputs take`);
    }
  }
  if (types.length === 0 && !schema.anyOf && !schema.enum && !schema.const && !schema.$ref) {
    problems.push(`${path} must say its "type"`);
  }
  if (types.includes("object")) {
    const properties = isObject(schema.properties) ? schema.properties : {};
    if (schema.additionalProperties !== false) {
      problems.push(`${path} must set "additionalProperties": false`);
    }
    const required = Array.isArray(schema.required) ? schema.required : [];
    const missing = Object.keys(properties).filter((key) => !required.includes(key));
    if (missing.length) {
      problems.push(
        `${path}.required must list every property (missing ${missing.join(", ")}); ` +
          `an optional one is a union with "null"`,
      );
    }
    for (const [key, sub] of Object.entries(properties)) {
      walk(sub, `${path}.properties.${key}`, problems, depth + 1);
    }
  }
  if (types.includes("array") && schema.items !== undefined) {
    walk(schema.items, `${path}.items`, problems, depth + 1);
  }
  if (Array.isArray(schema.anyOf)) {
    schema.anyOf.forEach((sub, i) => walk(sub, `${path}.anyOf[${i}]`, problems, depth + 1));
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The model and API an analysis request goes to. */
export interface AnalysisModel {
  model: string;
  api: OpenAiApi;
}

/** One analysis request. */
export interface AnalysisRequest extends AnalysisModel {
  spec: AnalysisSpec;
  transcript: readonly TranscriptTurn[];
  /** Epoch ms stamped on the result. */
  now: number;
  signal?: AbortSignal;
}

/**
 * Asks the model for the analysis of a call; never throws: a failure (the API refusing, a
 * refusal, an answer that is not the schema's JSON) is a `failed` analysis with its reason.
 */
export async function analyzeCall(client: OpenAI, request: AnalysisRequest): Promise<CallAnalysis> {
  const { spec, now } = request;
  if (request.transcript.length === 0) {
    return { status: "failed", at: now, error: "the call has no transcript" };
  }
  try {
    const text = request.api === "chat"
      ? await chatAnswer(client, request)
      : await responsesAnswer(client, request);
    const answer = JSON.parse(text) as Json;
    const labels = spec.outcomes.map((o) => o.label);
    const outcome = typeof answer.outcome === "string" ? answer.outcome : null;
    if (typeof answer.summary !== "string") throw new Error("the answer has no summary");
    if (labels.length && (outcome === null || !labels.includes(outcome))) {
      throw new Error(`the answer's outcome ${JSON.stringify(answer.outcome)} is not a label`);
    }
    const fields = spec.fields && isObject(answer.fields) ? answer.fields : null;
    return {
      status: "done",
      at: now,
      summary: answer.summary,
      outcome,
      fields,
      model: request.model,
    };
  } catch (err) {
    return { status: "failed", at: now, error: reasonOf(err) };
  }
}

/** A short reason: the API's status and message, or the error's message. */
function reasonOf(err: unknown): string {
  if (err instanceof OpenAI.APIError) return `${err.status ?? "no status"}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** The system message: what to do and what the labels mean. */
function instructionsOf(spec: AnalysisSpec): string {
  const lines = [
    "You analyse a finished phone call between a caller and an AI phone agent.",
    "Answer only from the transcript; do not invent facts. Use null for a field it does not give.",
    `Summary: ${spec.summary}`,
  ];
  if (spec.outcomes.length) {
    lines.push("Outcome: the one label below that best says how the call ended.");
    for (const o of spec.outcomes) lines.push(`- ${o.label}: ${o.description}`);
  }
  return lines.join("\n");
}

/** The transcript as lines (`Caller: …`, `Agent: …`), its tail when long. */
export function transcriptText(transcript: readonly TranscriptTurn[]): string {
  const text = transcript
    .map((t) => `${t.role === "caller" ? "Caller" : "Agent"}: ${t.text}`)
    .join("\n");
  return text.length > MAX_TRANSCRIPT_CHARS ? text.slice(-MAX_TRANSCRIPT_CHARS) : text;
}

async function chatAnswer(client: OpenAI, request: AnalysisRequest): Promise<string> {
  const completion = await client.chat.completions.create({
    model: request.model,
    messages: [
      { role: "system", content: instructionsOf(request.spec) },
      { role: "user", content: transcriptText(request.transcript) },
    ],
    response_format: {
      type: "json_schema",
      json_schema: { name: ANALYSIS_FORMAT, schema: analysisSchema(request.spec), strict: true },
    },
  }, { signal: request.signal });
  const message = completion.choices[0]?.message;
  if (message?.refusal) throw new Error(`the model refused: ${message.refusal}`);
  if (!message?.content) throw new Error("the answer is empty");
  return message.content;
}

async function responsesAnswer(client: OpenAI, request: AnalysisRequest): Promise<string> {
  const response = await client.responses.create({
    model: request.model,
    instructions: instructionsOf(request.spec),
    input: transcriptText(request.transcript),
    text: {
      format: {
        type: "json_schema",
        name: ANALYSIS_FORMAT,
        schema: analysisSchema(request.spec),
        strict: true,
      },
    },
  }, { signal: request.signal });
  if (response.status !== "completed") {
    throw new Error(
      `the response is ${response.status}${response.error ? `: ${response.error.message}` : ""}`,
    );
  }
  for (const item of response.output) {
    if (item.type !== "message") continue;
    for (const part of item.content) {
      if (part.type === "refusal") throw new Error(`the model refused: ${part.refusal}`);
    }
  }
  if (!response.output_text) throw new Error("the answer is empty");
  return response.output_text;
}
