/**
 * The two models of a scenario run besides the agent: the **caller** (a persona working towards
 * a goal, one turn per request) and the **judge** (a rubric scored pass or fail, with its
 * reason). Both are one structured-output request through the `openai` SDK (Chat Completions
 * `response_format` or Responses `text.format`, `json_schema` with `strict: true`), so an answer
 * is the schema's JSON or the request fails — and a failure makes the scenario an error, not a
 * failed check ({@link ModelFailure}).
 *
 * @module
 */

import OpenAI from "openai";
import type { OpenAiApi } from "../platform/config.ts";

/** A model request of a run failed (the API refused, timed out, or broke the format). */
export class ModelFailure extends Error {
  constructor(role: "caller" | "judge", cause: unknown) {
    super(`the ${role} model failed: ${reasonOf(cause)}`);
    this.name = "ModelFailure";
  }
}

/** Where the caller and judge models are asked. */
export interface ScenarioModels {
  client: OpenAI;
  /** The model used when a scenario names none (OPENAI_MODEL). */
  model: string;
  api: OpenAiApi;
}

/** The caller and judge models of the configured OpenAI account, or null without a key. */
export function scenarioModelsOf(openai: {
  apiKey: string | null;
  baseUrl: string;
  model: string;
  api: OpenAiApi;
  timeoutMs: number;
}): ScenarioModels | null {
  if (!openai.apiKey) return null;
  const client = new OpenAI({
    apiKey: openai.apiKey,
    baseURL: openai.baseUrl,
    maxRetries: 1,
    // A judge reads a whole call: longer than one of the agent's turns may take.
    timeout: openai.timeoutMs * 3,
  });
  return { client, model: openai.model, api: openai.api };
}

/** One line of a conversation as the caller and the judge read it. */
export interface ConversationLine {
  role: "caller" | "agent";
  text: string;
}

/** What the caller model does next. */
export interface CallerMove {
  /** What the caller says ("" = nothing). */
  say: string;
  /** Keys pressed ("" = none). */
  press: string;
  hangUp: boolean;
}

/** A judged check's verdict. */
export interface Verdict {
  pass: boolean;
  reason: string;
}

/** The structured output name of the caller's answers. */
export const CALLER_FORMAT = "scenario_caller";
/** The structured output name of the judge's answers. */
export const JUDGE_FORMAT = "scenario_judge";

const CALLER_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["say", "press", "hangUp"],
  properties: {
    say: { type: "string", description: "What you say next, as spoken words; empty for nothing." },
    press: { type: "string", description: "Phone keys you press (0-9, *, #); usually empty." },
    hangUp: { type: "boolean", description: "true to hang up now instead." },
  },
};

const JUDGE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["pass", "reason"],
  properties: {
    pass: { type: "boolean", description: "Whether the call meets the rubric." },
    reason: { type: "string", description: "Why, in one or two sentences, citing the call." },
  },
};

/** Asks the caller model for its next move. Throws {@link ModelFailure}. */
export async function callerMove(
  models: ScenarioModels,
  request: {
    persona: string;
    goal: string;
    model: string | null;
    conversation: readonly ConversationLine[];
    signal?: AbortSignal;
  },
): Promise<CallerMove> {
  const instructions = [
    "You are a caller on a phone call with an AI phone agent. Stay in character.",
    `Who you are: ${request.persona}`,
    `What you want: ${request.goal}`,
    "Answer with your next turn: one or two short spoken sentences, as a caller would say them.",
    "Hang up (hangUp: true) once your goal is reached and you have said goodbye, or when the " +
    "call cannot go on.",
  ].join("\n");
  const input = request.conversation.length
    ? request.conversation.map((l) => `${l.role === "caller" ? "You" : "Agent"}: ${l.text}`)
      .join("\n")
    : "(The call has just been answered; the agent has said nothing yet.)";
  try {
    const answer = await structured(models, {
      model: request.model,
      instructions,
      input,
      name: CALLER_FORMAT,
      schema: CALLER_SCHEMA,
      signal: request.signal,
    });
    if (typeof answer.say !== "string" || typeof answer.hangUp !== "boolean") {
      throw new Error("the answer is not the schema's");
    }
    const press = typeof answer.press === "string" ? answer.press.replace(/[^0-9*#]/g, "") : "";
    return { say: answer.say.trim(), press, hangUp: answer.hangUp };
  } catch (err) {
    throw new ModelFailure("caller", err);
  }
}

/** Asks the judge model whether the call meets `rubric`. Throws {@link ModelFailure}. */
export async function judge(
  models: ScenarioModels,
  request: {
    rubric: string;
    model: string | null;
    /** The call as the judge reads it: transcript, tool calls, how it ended. */
    call: string;
    signal?: AbortSignal;
  },
): Promise<Verdict> {
  const instructions = [
    "You judge a finished phone call between a caller and an AI phone agent against a rubric.",
    "Judge only from the record given; do not assume what it does not show.",
    `Rubric: ${request.rubric}`,
  ].join("\n");
  try {
    const answer = await structured(models, {
      model: request.model,
      instructions,
      input: request.call,
      name: JUDGE_FORMAT,
      schema: JUDGE_SCHEMA,
      signal: request.signal,
    });
    if (typeof answer.pass !== "boolean" || typeof answer.reason !== "string") {
      throw new Error("the answer is not the schema's");
    }
    return { pass: answer.pass, reason: answer.reason };
  } catch (err) {
    throw new ModelFailure("judge", err);
  }
}

interface StructuredRequest {
  model: string | null;
  instructions: string;
  input: string;
  name: string;
  schema: Record<string, unknown>;
  signal?: AbortSignal;
}

async function structured(
  models: ScenarioModels,
  request: StructuredRequest,
): Promise<Record<string, unknown>> {
  const model = request.model ?? models.model;
  const text = models.api === "chat"
    ? await chatText(models.client, model, request)
    : await responsesText(models.client, model, request);
  const value = JSON.parse(text);
  if (!value || typeof value !== "object") throw new Error("the answer is not a JSON object");
  return value;
}

async function chatText(client: OpenAI, model: string, request: StructuredRequest) {
  const completion = await client.chat.completions.create({
    model,
    messages: [
      { role: "system", content: request.instructions },
      { role: "user", content: request.input },
    ],
    response_format: {
      type: "json_schema",
      json_schema: { name: request.name, schema: request.schema, strict: true },
    },
  }, { signal: request.signal });
  const message = completion.choices[0]?.message;
  if (message?.refusal) throw new Error(`the model refused: ${message.refusal}`);
  if (!message?.content) throw new Error("the answer is empty");
  return message.content;
}

async function responsesText(client: OpenAI, model: string, request: StructuredRequest) {
  const response = await client.responses.create({
    model,
    instructions: request.instructions,
    input: request.input,
    text: {
      format: { type: "json_schema", name: request.name, schema: request.schema, strict: true },
    },
  }, { signal: request.signal });
  if (response.status !== "completed") {
    throw new Error(
      `the response is ${response.status}${response.error ? `: ${response.error.message}` : ""}`,
    );
  }
  if (!response.output_text) throw new Error("the answer is empty");
  return response.output_text;
}

/** A short reason: the API's status and message, or the error's message. */
function reasonOf(err: unknown): string {
  if (err instanceof OpenAI.APIError) return `${err.status ?? "no status"}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
