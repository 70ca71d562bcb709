/**
 * The rules of what the Realtime API (GA) accepts in `session.update`, as the fake Realtime
 * server applies them: each refusal is a {@link Problem}, the `error` event's code, message and
 * `param` (the field at fault).
 *
 * Where each rule comes from:
 * - the fields of a session, of each turn detection (`server_vad`, `semantic_vad`), of a function
 *   tool, and the audio formats: the openai SDK's types (7.55.0,
 *   `resources/realtime/realtime.d.ts`: `RealtimeSessionCreateRequest`, `ServerVad`,
 *   `SemanticVad`, `RealtimeFunctionTool`, the `audio/pcm`/`audio/pcmu`/`audio/pcma` formats).
 *   That version's request also has `parallel_tool_calls` and `reasoning`; this list does not,
 *   so the fake refuses them. `strict` is no field of a function tool: the live API answers it
 *   with `unknown_parameter`.
 * - `max_output_tokens`: an integer from 1 to 4096 or `inf`, as the SDK's doc of that field says.
 * - the voices: {@link VOICES}, the SDK's built-in ones, or a custom voice `{ id }`.
 * - function names: as the Chat Completions and Responses APIs define them.
 * - `tool_choice`: the SDK's `RealtimeToolChoiceConfig` (an option, a function or an mcp choice).
 * - a declaration's `parameters`: a JSON Schema (checked against the meta-schema), of an object.
 * - the messages and codes: as the live API words them where known, see
 *   `tests/fixtures/openai_realtime_errors.json` (a Chat Completions-shaped tool, a `strict`
 *   field); other refusals follow the same wording ('Missing required parameter: ...',
 *   'Unknown parameter: ...', 'Invalid value: ...').
 * - a session's model is fixed when its socket opens (its URL): an update may not change it.
 *
 * @module
 */

import { Ajv } from "ajv";
import { type JsonObject, jsonObject } from "../../lib/protocols/json_fields.ts";

/** Why a client event is refused: the error's code, message and param. */
export interface Problem {
  code: string;
  message: string;
  param: string | null;
}

/** A {@link Problem}, with no param unless given. */
function problem(code: string, message: string, param: string | null = null): Problem {
  return { code, message, param };
}

const FORMATS = ["audio/pcm", "audio/pcmu", "audio/pcma"];
/**
 * The built-in voices, as the openai SDK (7.55.0, `resources/realtime/realtime.d.ts`) types
 * `RealtimeAudioConfigOutput.voice` (a session's `audio.output.voice`), written out here rather
 * than taken from the service's list, which the fake checks. The same field also takes a custom
 * voice, `RealtimeAudioConfigOutput.ID`: `{ id: "voice_1234" }`.
 */
const VOICES = [
  "alloy",
  "ash",
  "ballad",
  "coral",
  "echo",
  "sage",
  "shimmer",
  "verse",
  "marin",
  "cedar",
];
const SERVER_VAD_KEYS = [
  "type",
  "threshold",
  "prefix_padding_ms",
  "silence_duration_ms",
  "create_response",
  "interrupt_response",
  "idle_timeout_ms",
];
const SEMANTIC_VAD_KEYS = ["type", "eagerness", "create_response", "interrupt_response"];
const SESSION_KEYS = [
  "type",
  "model",
  "output_modalities",
  "instructions",
  "audio",
  "tools",
  "tool_choice",
  "max_output_tokens",
  "tracing",
  "truncation",
  "prompt",
  "include",
];
/** The fields a function tool may have (`strict` is not one: the API answers unknown_parameter). */
const FUNCTION_TOOL_KEYS = ["type", "name", "description", "parameters"];
/** Function names: as the Chat Completions and Responses APIs define them. */
const FUNCTION_NAME = /^[a-zA-Z0-9_-]+$/;
const FUNCTION_NAME_MAX = 64;
const TOOL_CHOICE_OPTIONS = ["none", "auto", "required"];
/** Checks a declaration's `parameters` against the JSON Schema meta-schema. */
const schemaChecker = new Ajv({ strict: false });

/** The JSON type of `value`, as the API's messages name it. */
function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a number";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/**
 * What the Realtime API refuses in `session.tools` and `session.tool_choice` (the function tool
 * shape of the SDK's `RealtimeFunctionTool`; messages and codes as the live API words them where
 * known, see `tests/fixtures/openai_realtime_errors.json`).
 */
function toolsProblem(tools: unknown, toolChoice: unknown): Problem | null {
  const names: string[] = [];
  if (tools !== undefined) {
    if (!Array.isArray(tools)) {
      return problem(
        "invalid_type",
        `Invalid type for 'session.tools': expected an array, but got ${jsonType(tools)} instead.`,
        "session.tools",
      );
    }
    for (const [i, tool] of tools.entries()) {
      const at = `session.tools[${i}]`;
      const found = toolProblem(tool, at);
      if (found) return found;
      if ((tool as JsonObject).type === "function") names.push(String((tool as JsonObject).name));
    }
  }
  return toolChoiceProblem(toolChoice, names);
}

function toolProblem(tool: unknown, at: string): Problem | null {
  const t = jsonObject(tool);
  if (!t) {
    return problem(
      "invalid_type",
      `Invalid type for '${at}': expected an object, but got ${jsonType(tool)} instead.`,
      at,
    );
  }
  if (t.type === undefined) {
    return problem(
      "missing_required_parameter",
      `Missing required parameter: '${at}.type'.`,
      `${at}.type`,
    );
  }
  if (t.type === "mcp") return null;
  if (t.type !== "function") {
    return problem(
      "invalid_value",
      `Invalid value: '${String(t.type)}'. Supported values are: 'function' and 'mcp'.`,
      `${at}.type`,
    );
  }
  // A required field is missed before an unknown one is noticed: the live API answers a
  // Chat Completions-shaped declaration (`function: {name, …}`) with the missing name.
  const name = t.name;
  if (name === undefined) {
    return problem(
      "missing_required_parameter",
      `Missing required parameter: '${at}.name'.`,
      `${at}.name`,
    );
  }
  for (const key of Object.keys(t)) {
    if (!FUNCTION_TOOL_KEYS.includes(key)) {
      return problem("unknown_parameter", `Unknown parameter: '${at}.${key}'.`, `${at}.${key}`);
    }
  }
  if (typeof name !== "string") {
    return problem(
      "invalid_type",
      `Invalid type for '${at}.name': expected a string, but got ${jsonType(name)} instead.`,
      `${at}.name`,
    );
  }
  if (name.length > FUNCTION_NAME_MAX) {
    return problem(
      "string_above_max_length",
      `Invalid '${at}.name': string too long. Expected a string with maximum length ` +
        `${FUNCTION_NAME_MAX}, but got a string with length ${name.length} instead.`,
      `${at}.name`,
    );
  }
  if (!FUNCTION_NAME.test(name)) {
    return problem(
      "invalid_value",
      `Invalid '${at}.name': string does not match pattern. Expected a string that matches ` +
        `the pattern '${FUNCTION_NAME.source}'.`,
      `${at}.name`,
    );
  }
  if (t.description !== undefined && typeof t.description !== "string") {
    return problem(
      "invalid_type",
      `Invalid type for '${at}.description': expected a string, but got ${
        jsonType(t.description)
      } instead.`,
      `${at}.description`,
    );
  }
  if (t.parameters !== undefined) {
    const parameters = jsonObject(t.parameters);
    const invalid = (why: string) =>
      problem(
        "invalid_function_parameters",
        `Invalid schema for function '${name}': ${why}`,
        `${at}.parameters`,
      );
    if (!parameters) return invalid(`${jsonType(t.parameters)} is not of type 'object'.`);
    if (!schemaChecker.validateSchema(parameters)) {
      return invalid(schemaChecker.errorsText(schemaChecker.errors, { dataVar: "schema" }));
    }
    if (parameters.type !== "object") {
      return invalid(
        `schema must be a JSON Schema of 'type: "object"', got 'type: "${
          String(parameters.type)
        }"'.`,
      );
    }
  }
  return null;
}

function toolChoiceProblem(choice: unknown, functions: string[]): Problem | null {
  if (choice === undefined) return null;
  const param = "session.tool_choice";
  if (typeof choice === "string") {
    if (TOOL_CHOICE_OPTIONS.includes(choice)) return null;
    return problem(
      "invalid_value",
      `Invalid value: '${choice}'. Supported values are: 'none', 'auto', and 'required'.`,
      param,
    );
  }
  const c = jsonObject(choice);
  if (c?.type === "function") {
    if (typeof c.name !== "string") {
      return problem(
        "missing_required_parameter",
        `Missing required parameter: '${param}.name'.`,
        `${param}.name`,
      );
    }
    if (!functions.includes(c.name)) {
      return problem(
        "invalid_value",
        `Tool choice 'function' with name '${c.name}' is not one of the session's tools.`,
        `${param}.name`,
      );
    }
    return null;
  }
  if (c?.type === "mcp" && typeof c.server_label === "string") return null;
  return problem(
    "invalid_value",
    `Invalid value for '${param}': expected 'none', 'auto', 'required', or a function or ` +
      "mcp choice.",
    param,
  );
}

/** What the API refuses as `session.audio.output.voice`: a built-in voice or a custom `{ id }`. */
function voiceProblem(voice: unknown): Problem | null {
  const at = "session.audio.output.voice";
  if (typeof voice === "string") {
    return VOICES.includes(voice)
      ? null
      : problem("invalid_value", `Invalid value: '${voice}'.`, at);
  }
  const custom = jsonObject(voice);
  if (!custom) {
    return problem(
      "invalid_type",
      `Invalid type for '${at}': expected a string or an object, but got ${
        jsonType(voice)
      } instead.`,
      at,
    );
  }
  for (const key of Object.keys(custom)) {
    if (key !== "id") {
      return problem("unknown_parameter", `Unknown parameter: '${at}.${key}'.`, `${at}.${key}`);
    }
  }
  if (typeof custom.id !== "string" || custom.id === "") {
    return problem(
      "missing_required_parameter",
      `Missing required parameter: '${at}.id'.`,
      `${at}.id`,
    );
  }
  return null;
}

/**
 * What the Realtime API refuses in a `session.update`'s `session`, for a socket opened for
 * `model`: the first problem found, or null when the update is accepted.
 */
export function sessionProblem(session: JsonObject | null, model: string): Problem | null {
  if (!session) {
    return problem(
      "missing_required_parameter",
      "Missing required parameter: 'session'.",
      "session",
    );
  }
  for (const key of Object.keys(session)) {
    if (!SESSION_KEYS.includes(key)) {
      return problem(
        "unknown_parameter",
        `Unknown parameter: 'session.${key}'.`,
        `session.${key}`,
      );
    }
  }
  if (session.type !== "realtime") {
    return problem(
      "missing_required_parameter",
      "Missing required parameter: 'session.type'.",
      "session.type",
    );
  }
  if (session.model !== undefined && session.model !== model) {
    // The model is fixed when the socket opens (its URL): an update may not change it.
    return problem(
      "invalid_value",
      `Cannot update a session's model (opened for '${model}', got '${String(session.model)}').`,
      "session.model",
    );
  }
  const limit = session.max_output_tokens;
  if (
    limit !== undefined && limit !== "inf" &&
    !(Number.isInteger(limit) && (limit as number) >= 1 && (limit as number) <= 4096)
  ) {
    return problem(
      "invalid_value",
      `Invalid 'session.max_output_tokens': expected an integer from 1 to 4096 or 'inf', got ${
        JSON.stringify(limit)
      }.`,
      "session.max_output_tokens",
    );
  }
  const audio = jsonObject(session.audio);
  const input = jsonObject(audio?.input);
  const output = jsonObject(audio?.output);
  for (const [name, side] of [["input", input], ["output", output]] as const) {
    const format = jsonObject(side?.format);
    if (side?.format !== undefined && !FORMATS.includes(String(format?.type))) {
      return problem(
        "invalid_value",
        `Invalid value: '${String(format?.type)}'. Supported values are: ${FORMATS.join(", ")}.`,
        `session.audio.${name}.format.type`,
      );
    }
  }
  if (output?.voice !== undefined) {
    const found = voiceProblem(output.voice);
    if (found) return found;
  }
  const td = jsonObject(input?.turn_detection);
  if (td) {
    const keys = td.type === "server_vad"
      ? SERVER_VAD_KEYS
      : td.type === "semantic_vad"
      ? SEMANTIC_VAD_KEYS
      : null;
    const at = "session.audio.input.turn_detection";
    if (!keys) {
      return problem("invalid_value", `Invalid value: '${String(td.type)}'.`, `${at}.type`);
    }
    for (const key of Object.keys(td)) {
      if (!keys.includes(key)) {
        return problem("unknown_parameter", `Unknown parameter: '${at}.${key}'.`, `${at}.${key}`);
      }
    }
  }
  const transcription = input?.transcription;
  if (
    transcription !== undefined && transcription !== null && !jsonObject(transcription)?.model
  ) {
    const at = "session.audio.input.transcription.model";
    return problem("missing_required_parameter", `Missing required parameter: '${at}'.`, at);
  }
  const modalities = session.output_modalities;
  if (modalities !== undefined && !Array.isArray(modalities)) {
    return problem(
      "invalid_type",
      `Invalid type for 'session.output_modalities': expected an array, but got ${
        jsonType(modalities)
      } instead.`,
      "session.output_modalities",
    );
  }
  return toolsProblem(session.tools, session.tool_choice);
}
