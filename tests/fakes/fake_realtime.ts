/**
 * A fake OpenAI Realtime (GA) WebSocket server on 127.0.0.1 for tests and the benchmark.
 *
 * It speaks only the GA protocol and rejects what the real service rejects (beta shapes, unknown
 * events, a missing `Authorization`, `g711_ulaw`, audio sent before the session is configured,
 * tool declarations and `tool_choice` values the API refuses, a truncate past the item's audio,
 * a cancel with no response in progress), with the real `error` event's shape
 * (`invalid_request_error`, a code, and a `param` naming the field). Scripted replies are paced
 * on timers; `speech_started`/`speech_stopped` come on demand; every client event is recorded.
 * Like the real API, it can still send a few deltas of a response after it was cancelled (they
 * were on their way), before its `response.done`. In echo mode every appended audio chunk comes
 * straight back as an audio delta.
 */

import { Buffer } from "node:buffer";
import { Ajv } from "ajv";
import { REALTIME_VOICES } from "../../lib/platform/config.ts";
import { type JsonObject, jsonObject } from "../../lib/protocols/json_fields.ts";
import { base64ByteLength } from "../../lib/protocols/media_streams.ts";
import type { TlsCert } from "../helpers/test_ca.ts";
import { EventLog } from "./event_log.ts";
import type { FakeLive } from "./fake_live.ts";
import type { FakeSip } from "./fake_sip.ts";

/** A scripted assistant reply. */
export interface ReplyScript {
  /** Audio length in ms (µ-law, 8 bytes per ms). */
  audioMs: number;
  /** Audio per delta, in ms. */
  deltaMs: number;
  /** Playback speed of the pacing: 1 = real time, 4 = four times faster than real time. */
  speed: number;
  transcript: string;
  /** Function calls the reply makes after its audio (parallel when several). */
  functionCalls?: { name: string; arguments: string }[];
}

/** Options of {@link FakeRealtime}. */
export interface FakeRealtimeOptions {
  /**
   * `echo`: appended audio comes back at once as deltas of one open-ended response (joining the
   * reply in progress, if any); `response.create` still gets a scripted reply.
   */
  mode?: "script" | "echo";
  reply?: Partial<ReplyScript>;
}

/** A client event as recorded (parsed JSON, or the raw text if it was not JSON). */
export type ClientEvent = Record<string, unknown> & { type: string };

/** An error event the fake sent, with the client event that caused it. */
export interface SentError {
  code: string;
  message: string;
  /** The field at fault, as the real API names it (e.g. `session.tools[0].type`), if any. */
  param: string | null;
  cause: string;
}

/** Why a client event is refused: the error's code, message and param. */
interface Problem {
  code: string;
  message: string;
  param: string | null;
}

const problem = (code: string, message: string, param: string | null = null): Problem => ({
  code,
  message,
  param,
});

/** What happened to one upgrade request. */
export interface UpgradeRecord {
  status: "accepted" | "refused" | "aborted";
  authorization: string | null;
  url: string;
}

const FORMATS = ["audio/pcm", "audio/pcmu", "audio/pcma"];
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
export function toolsProblem(tools: unknown, toolChoice: unknown): Problem | null {
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
      if ((tool as Json).type === "function") names.push(String((tool as Json).name));
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

const CLIENT_TYPES = new Set([
  "session.update",
  "input_audio_buffer.append",
  "input_audio_buffer.clear",
  "input_audio_buffer.commit",
  "conversation.item.create",
  "conversation.item.truncate",
  "conversation.item.delete",
  "conversation.item.retrieve",
  "response.create",
  "response.cancel",
  "output_audio_buffer.clear",
]);

/** Deterministic µ-law bytes for reply `seed` (so tests can check audio byte for byte). */
export function replyAudio(seed: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (i * 7 + seed * 31) & 0xff;
  return out;
}

type Json = JsonObject;

const APPEND_HEAD = '{"type":"input_audio_buffer.append","audio":"';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** One Realtime session (one accepted socket). */
export class FakeRealtimeSession {
  readonly events = new EventLog<ClientEvent>();
  readonly errors = new EventLog<SentError>();
  /** Audio appended after the session was configured, base64 chunks in order (not in echo mode). */
  readonly appended: string[] = [];
  readonly truncates = new EventLog<{ itemId: string; audioEndMs: number }>();
  /** Every server event sent, by type, in order. */
  readonly sent: string[] = [];
  configured = false;
  interruptResponse = true;
  /** Deltas of a cut-off response sent after its cut (`lateDeltas`, `cancelLateDeltas`). */
  lateDeltasSent = 0;
  /** The session's instructions, as the last `session.update` that set them left them. */
  instructions = "";
  /**
   * `response.create`s whose own instructions leave out the session's: a response's
   * instructions replace the session's, so that response ran without the agent's persona.
   */
  readonly droppedInstructions: ClientEvent[] = [];
  closed: Promise<CloseEvent>;

  #socket: WebSocket;
  #fake: FakeRealtime;
  #ids = 0;
  #items = new Map<string, { role: string; audioBytes: number }>();
  /** Function calls made, by call_id, and whether their output has been given. */
  readonly functionCalls = new Map<string, { name: string; answered: boolean }>();
  #active: ActiveReply | null = null;
  #replies = 0;
  #lastEchoAt = 0;
  /** Echo audio gathered for a longer delta (with `echoDeltaMs`). */
  #echoHeld: Uint8Array[] = [];
  #echoHeldBytes = 0;
  #echoEnder: ReturnType<typeof setInterval> | undefined;
  #speechItem: string | null = null;

  /** The model of the socket's URL: a session's model, fixed when it opens. */
  readonly model: string;

  constructor(socket: WebSocket, fake: FakeRealtime, model = "gpt-realtime") {
    this.#socket = socket;
    this.#fake = fake;
    this.model = model;
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (ev) => {
        this.#stopActive();
        clearInterval(this.#echoEnder);
        resolve(ev);
      });
    });
    socket.addEventListener("open", () => {
      this.#send({
        type: "session.created",
        session: { type: "realtime", model: this.model, id: this.#id("sess") },
      });
    });
    socket.addEventListener("message", (ev) => this.#onMessage(ev.data));
  }

  /** The reply currently being sent, if any. */
  get activeResponse(): string | null {
    return this.#active?.id ?? null;
  }

  /** Emits `input_audio_buffer.speech_started` (the caller starts talking). */
  speechStarted(): void {
    this.#speechItem = this.#id("item");
    this.#send({
      type: "input_audio_buffer.speech_started",
      audio_start_ms: 0,
      item_id: this.#speechItem,
    });
    const active = this.#active;
    if (!this.interruptResponse || !active) return;
    // Deltas already on the wire when the server noticed the caller.
    for (let i = 0; i < this.#fake.lateDeltas && this.#active === active; i++) {
      active.sendNext?.();
      this.lateDeltasSent++;
    }
    if (this.#active === active) this.#finishActive("cancelled");
  }

  /** Emits `speech_stopped` and the user item, then (VAD `create_response`) a reply. */
  speechStopped(transcript = "hello there"): void {
    const itemId = this.#speechItem ?? this.#id("item");
    this.#speechItem = null;
    this.#send({ type: "input_audio_buffer.speech_stopped", audio_end_ms: 0, item_id: itemId });
    this.#send({ type: "input_audio_buffer.committed", item_id: itemId, previous_item_id: null });
    this.#items.set(itemId, { role: "user", audioBytes: 0 });
    this.#startReply();
    this.#send({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: itemId,
      content_index: 0,
      transcript,
    });
  }

  /** Sends an `error` event (e.g. a fatal `insufficient_quota`). */
  sendError(code: string, message: string, type = "invalid_request_error"): void {
    this.#send({ type: "error", error: { type, code, message, param: null, event_id: null } });
  }

  /**
   * The 60-minute limit as the real API ends a session: an `error` with code `session_expired`
   * (the SDK's `RealtimeErrorEvent` shape; OpenAI's docs do not show the event, the message is
   * as other projects have logged it), then a close, 1001 "going away" unless `code` says else.
   */
  expire(code = 1001, reason = "going away"): void {
    this.sendError(
      "session_expired",
      "Your session hit the maximum duration of 60 minutes.",
      "invalid_request_error",
    );
    this.close(code, reason);
  }

  /**
   * The next client event of this type is left unanswered: the server goes away (1001) instead,
   * as a session ending while a request is in flight.
   */
  goAwayOn: string | null = null;

  /** Sends any raw text frame. */
  sendRaw(text: string): void {
    this.#socket.send(text);
  }

  /** Closes the socket from the server side (1001 = session expired). */
  close(code = 1000, reason = ""): void {
    this.#stopActive();
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close(code, reason);
  }

  #id(prefix: string): string {
    return `${prefix}_${(++this.#ids).toString(36).padStart(6, "0")}`;
  }

  #send(event: Json): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    this.sent.push(String(event.type));
    this.#socket.send(JSON.stringify({ event_id: this.#id("event"), ...event }));
  }

  #reject(
    code: string,
    message: string,
    cause: string,
    param: string | null = null,
    eventId: unknown = null,
  ): void {
    this.errors.push({ code, message, param, cause });
    this.#send({
      type: "error",
      error: {
        type: "invalid_request_error",
        code,
        message,
        param,
        event_id: typeof eventId === "string" ? eventId : null,
      },
    });
  }

  #onMessage(data: unknown): void {
    // Audio appends arrive 50 times a second per call: their usual shape is read without a
    // parse (the benchmark's load generator must not be its bottleneck); the rest is parsed.
    if (
      typeof data === "string" && data.startsWith(APPEND_HEAD) && data.endsWith('"}') &&
      BASE64.test(data.slice(APPEND_HEAD.length, -2))
    ) {
      const audio = data.slice(APPEND_HEAD.length, -2);
      if (this.#fake.mode !== "echo") {
        this.events.push({ type: "input_audio_buffer.append", audio });
      }
      return this.#onAppend("input_audio_buffer.append", audio);
    }
    if (typeof data !== "string") {
      this.events.push({ type: "(binary)" });
      return this.#reject("invalid_json", "Binary frames are not supported.", "(binary)");
    }
    let event: Json | null;
    try {
      event = jsonObject(JSON.parse(data));
    } catch {
      event = null;
    }
    if (!event || typeof event.type !== "string") {
      this.events.push({ type: "(invalid)" });
      return this.#reject("invalid_json", "We could not parse the JSON body.", "(invalid)");
    }
    const type = event.type;
    if (type === "input_audio_buffer.append") {
      // Not recorded one by one in echo mode (the benchmark sends thousands).
      if (this.#fake.mode !== "echo") this.events.push(event as ClientEvent);
      return this.#onAppend(type, event.audio);
    }
    this.events.push(event as ClientEvent);
    this.#fake.onClientEvent?.(type, performance.now());
    if (type === this.goAwayOn) {
      this.goAwayOn = null;
      return this.close(1001, "going away");
    }
    if (!CLIENT_TYPES.has(type)) {
      return this.#reject("invalid_value", `Invalid value: '${type.slice(0, 60)}'.`, type);
    }
    switch (type) {
      case "session.update":
        return this.#onSessionUpdate(jsonObject(event.session), event.event_id);
      case "response.create": {
        const own = jsonObject(event.response)?.instructions;
        if (typeof own === "string" && !own.includes(this.instructions)) {
          this.droppedInstructions.push(event as ClientEvent);
        }
        if (this.#active) {
          return this.#reject(
            "conversation_already_has_active_response",
            "Conversation already has an active response in progress.",
            type,
          );
        }
        return this.#startReply();
      }
      case "response.cancel": {
        const active = this.#active;
        if (!active) {
          return this.#reject(
            "response_cancel_not_active",
            "Cancellation failed: no active response found",
            type,
          );
        }
        // Deltas already on their way when the server got the cancel.
        for (let i = 0; i < this.#fake.cancelLateDeltas && this.#active === active; i++) {
          active.sendNext?.();
          this.lateDeltasSent++;
        }
        if (this.#active === active) this.#finishActive("cancelled");
        return;
      }
      case "conversation.item.truncate":
        return this.#onTruncate(event);
      case "conversation.item.create":
        return this.#onItemCreate(jsonObject(event.item));
    }
  }

  #onSessionUpdate(session: Json | null, eventId: unknown): void {
    const found = this.#sessionProblem(session);
    if (found) {
      return this.#reject(found.code, found.message, "session.update", found.param, eventId);
    }
    this.configured = true;
    if (typeof session!.instructions === "string") this.instructions = session!.instructions;
    const td = jsonObject(jsonObject(jsonObject(session!.audio)?.input)?.turn_detection);
    this.interruptResponse = td?.interrupt_response !== false;
    this.#send({ type: "session.updated", session });
  }

  #sessionProblem(session: Json | null): Problem | null {
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
    if (session.model !== undefined && session.model !== this.model) {
      // The model is fixed when the socket opens (its URL): an update may not change it.
      return problem(
        "invalid_value",
        `Cannot update a session's model (opened for '${this.model}', got '${
          String(session.model)
        }').`,
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
    if (
      output?.voice !== undefined &&
      !(REALTIME_VOICES as readonly string[]).includes(String(output.voice))
    ) {
      return problem(
        "invalid_value",
        `Invalid value: '${String(output.voice)}'.`,
        "session.audio.output.voice",
      );
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

  #onAppend(type: string, audio: unknown): void {
    if (typeof audio !== "string" || !BASE64.test(audio)) {
      return this.#reject("invalid_value", "Invalid 'audio'. Expected base64.", type);
    }
    if (!this.configured) {
      // The real service would read these bytes as 24 kHz PCM16 (the default format).
      return this.#reject(
        "audio_format_mismatch",
        "Audio appended before session.update took effect (read as audio/pcm).",
        "input_audio_buffer.append",
      );
    }
    if (this.#fake.mode !== "echo") this.appended.push(audio);
    this.#fake.onAppend?.(audio, performance.now());
    if (this.#fake.mode === "echo") this.#echo(audio);
  }

  #echo(audio: string): void {
    this.#lastEchoAt = performance.now();
    // A response ends once the caller's audio stops (a real one always ends with response.done).
    this.#echoEnder ??= setInterval(() => {
      if (this.#active && performance.now() - this.#lastEchoAt > ECHO_END_MS) {
        this.#finishActive("completed");
      }
    }, ECHO_END_MS);
    let active = this.#active;
    if (!active) {
      active = { id: this.#id("resp"), itemId: this.#id("item") };
      this.#active = active;
      this.#items.set(active.itemId, { role: "assistant", audioBytes: 0 });
      this.#send({ type: "response.created", response: { id: active.id, status: "in_progress" } });
    }
    const deltaBytes = this.#fake.echoDeltaMs * 8;
    if (deltaBytes > 0) {
      // Real servers send longer deltas than Twilio's 20 ms frames: gather, then send as one.
      this.#echoHeld.push(Buffer.from(audio, "base64"));
      this.#echoHeldBytes += this.#echoHeld.at(-1)!.length;
      if (this.#echoHeldBytes < deltaBytes) return;
      audio = Buffer.concat(this.#echoHeld).toString("base64");
      this.#echoHeld = [];
      this.#echoHeldBytes = 0;
    }
    const item = this.#items.get(active.itemId)!;
    item.audioBytes += Math.floor(base64ByteLength(audio));
    this.#socket.send(
      '{"type":"response.output_audio.delta","event_id":"e","response_id":"' + active.id +
        '","item_id":"' + active.itemId + '","output_index":0,"content_index":0,"delta":"' +
        audio + '"}',
    );
  }

  #onTruncate(event: Json): void {
    const itemId = String(event.item_id ?? "");
    const ms = event.audio_end_ms;
    const item = this.#items.get(itemId);
    if (!item) {
      return this.#reject("item_not_found", `Item with id '${itemId}' not found.`, "truncate");
    }
    if (item.role !== "assistant") {
      return this.#reject("invalid_value", "Only assistant messages can be truncated.", "truncate");
    }
    if (typeof ms !== "number" || !Number.isInteger(ms) || ms < 0 || event.content_index !== 0) {
      return this.#reject(
        "invalid_value",
        "Invalid 'audio_end_ms' or 'content_index'.",
        "truncate",
      );
    }
    const itemMs = Math.floor(item.audioBytes / 8);
    if (ms > itemMs) {
      return this.#reject(
        "invalid_value",
        `Audio content of ${itemMs} ms is already shorter than ${ms} ms`,
        "truncate",
      );
    }
    this.truncates.push({ itemId, audioEndMs: ms });
    this.#send({
      type: "conversation.item.truncated",
      item_id: itemId,
      content_index: 0,
      audio_end_ms: ms,
    });
  }

  #onItemCreate(item: Json | null): void {
    if (item?.type === "function_call_output") {
      const callId = String(item.call_id ?? "");
      const call = this.functionCalls.get(callId);
      if (!call || typeof item.output !== "string") {
        return this.#reject(
          "invalid_value",
          `Tool call ID '${callId}' not found in conversation.`,
          "conversation.item.create",
        );
      }
      call.answered = true;
      const id = this.#id("item");
      this.#send({ type: "conversation.item.added", item: { id, ...item } });
      return;
    }
    const role = item?.role;
    const content = Array.isArray(item?.content) ? item.content as unknown[] : null;
    const allowed = role === "user"
      ? ["input_text", "input_audio"]
      : role === "assistant"
      ? ["output_text", "output_audio"]
      : role === "system"
      ? ["input_text"]
      : null;
    if (item?.type !== "message" || !allowed || !content || content.length === 0) {
      return this.#reject("invalid_value", "Invalid 'item'.", "conversation.item.create");
    }
    for (const part of content) {
      if (!allowed.includes(String(jsonObject(part)?.type))) {
        return this.#reject(
          "invalid_value",
          `Invalid value: '${String(jsonObject(part)?.type)}' for ${role} content.`,
          "conversation.item.create",
        );
      }
    }
    const id = this.#id("item");
    this.#items.set(id, { role: String(role), audioBytes: 0 });
    this.#send({ type: "conversation.item.added", item: { id, ...item } });
  }

  /** A scripted reply; in echo mode too (a real server answers every `response.create`). */
  #startReply(): void {
    if (this.#active || this.#fake.stallReplies) return;
    const script = { ...DEFAULT_REPLY, ...this.#fake.reply, ...this.#fake.replies.shift() };
    const seed = ++this.#replies;
    this.#fake.replySeeds.push(seed);
    const id = this.#id("resp");
    const itemId = this.#id("item");
    const active: ActiveReply = { id, itemId };
    this.#active = active;
    this.#items.set(itemId, { role: "assistant", audioBytes: 0 });
    this.#send({ type: "response.created", response: { id, status: "in_progress" } });
    this.#send({
      type: "response.output_item.added",
      response_id: id,
      output_index: 0,
      item: { id: itemId, type: "message", role: "assistant" },
    });
    const audio = replyAudio(seed, Math.round(script.audioMs * 8));
    const step = Math.round(script.deltaMs * 8);
    let offset = 0;
    const started = performance.now();
    /** Sends the next delta; true when the reply is complete. */
    const sendNext = (): boolean => {
      const end = Math.min(offset + step, audio.length);
      const delta = Buffer.from(audio.subarray(offset, end)).toString("base64");
      this.#items.get(itemId)!.audioBytes += end - offset;
      offset = end;
      this.#send({
        type: "response.output_audio.delta",
        response_id: id,
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        delta,
      });
      if (offset >= audio.length) {
        this.#send({ type: "response.output_audio.done", response_id: id, item_id: itemId });
        this.#send({
          type: "response.output_audio_transcript.done",
          response_id: id,
          item_id: itemId,
          output_index: 0,
          content_index: 0,
          transcript: script.transcript,
        });
        for (const [index, call] of (script.functionCalls ?? []).entries()) {
          const callId = this.#id("call");
          const fcItem = this.#id("item");
          this.functionCalls.set(callId, { name: call.name, answered: false });
          const item = { id: fcItem, type: "function_call", call_id: callId, name: call.name };
          this.#send({
            type: "response.output_item.added",
            response_id: id,
            output_index: index + 1,
            item: { ...item, arguments: "", status: "in_progress" },
          });
          this.#send({
            type: "response.function_call_arguments.done",
            response_id: id,
            item_id: fcItem,
            output_index: index + 1,
            call_id: callId,
            name: call.name,
            arguments: call.arguments,
          });
          this.#send({
            type: "response.output_item.done",
            response_id: id,
            output_index: index + 1,
            item: { ...item, arguments: call.arguments, status: "completed" },
          });
        }
        this.#finishActive("completed");
        return true;
      }
      return false;
    };
    active.sendNext = sendNext;
    const tick = () => {
      if (this.#active !== active || sendNext()) return;
      // Paced on the real clock: delta n leaves at n * deltaMs / speed.
      const due = started + (offset / 8) / script.speed;
      active.timer = setTimeout(tick, Math.max(0, due - performance.now()));
    };
    active.timer = setTimeout(tick, 0);
  }

  #finishActive(status: "completed" | "cancelled"): void {
    const active = this.#active;
    if (!active) return;
    this.#stopActive();
    this.#send({
      type: "response.done",
      response: {
        id: active.id,
        status,
        // Broken down as the API does (text and audio, cached or not).
        usage: {
          input_tokens: 120,
          output_tokens: 40,
          total_tokens: 160,
          input_token_details: {
            text_tokens: 20,
            audio_tokens: 100,
            cached_tokens: 60,
            cached_tokens_details: { text_tokens: 10, audio_tokens: 50 },
          },
          output_token_details: { text_tokens: 10, audio_tokens: 30 },
        },
      },
    });
  }

  #stopActive(): void {
    this.#echoHeld = [];
    this.#echoHeldBytes = 0;
    clearTimeout(this.#active?.timer);
    this.#active = null;
  }
}

/** The reply being sent. */
interface ActiveReply {
  id: string;
  itemId: string;
  timer?: ReturnType<typeof setTimeout>;
  sendNext?: () => boolean;
}

/** In echo mode, the open-ended response ends this long after the last appended audio. */
const ECHO_END_MS = 250;

const DEFAULT_REPLY: ReplyScript = {
  audioMs: 1000,
  deltaMs: 100,
  speed: 4,
  transcript: "Hello, how can I help you today?",
};

/** The fake server: accepts `GET /v1/realtime?model=…` upgrades. */
export class FakeRealtime {
  readonly mode: "script" | "echo";
  reply: Partial<ReplyScript>;
  /** Scripts for the next replies, in order, over `reply`. */
  readonly replies: Partial<ReplyScript>[] = [];
  readonly sessions = new EventLog<FakeRealtimeSession>();
  readonly upgrades = new EventLog<UpgradeRecord>();
  /** Seeds of the replies started, in order (see {@link replyAudio}). */
  readonly replySeeds: number[] = [];
  /** Answer upgrades with this HTTP status instead (e.g. 401, 500). */
  refuseStatus: number | null = null;
  /** Deltas of the interrupted reply still sent after `speech_started` (they are in flight). */
  lateDeltas = 0;
  /**
   * Deltas of a cancelled reply still sent after `response.cancel`, before its `response.done`
   * (status `cancelled`): they were on their way when the server got the cancel.
   */
  cancelLateDeltas = 0;
  /** Called with the audio and arrival time of every accepted append. */
  onAppend: ((audio: string, at: number) => void) | null = null;
  /** Called with the type and arrival time of every client event but audio appends. */
  onClientEvent: ((type: string, at: number) => void) | null = null;
  /**
   * In echo mode, gather appended audio into deltas of at least this many ms (0: each append
   * comes back at once as its own delta, 20 ms from Twilio).
   */
  echoDeltaMs = 0;
  /** Accept `response.create` (and VAD turns) but never answer: a stalled server. */
  stallReplies = false;
  /** Hold upgrade requests (no answer) until {@link releaseUpgrades}. */
  holdUpgrades = false;
  /** The GPT-Live API under the same base URL (`/v1/live/sessions`), when set. */
  live: FakeLive | null = null;
  /** SIP calls' REST API under the same base URL (accept, reject, hangup, refer), when set. */
  sip: FakeSip | null = null;

  #server: Deno.HttpServer<Deno.NetAddr> | null = null;
  #held: (() => void)[] = [];

  constructor(options: FakeRealtimeOptions = {}) {
    this.mode = options.mode ?? "script";
    this.reply = options.reply ?? {};
  }

  /** Starts listening; returns the base URL to use as `OPENAI_BASE_URL` (https with `tls`). */
  start(options: { tls?: TlsCert } = {}): string {
    this.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {}, ...options.tls },
      (req) => this.handle(req),
    );
    return `${options.tls ? "https" : "http"}://127.0.0.1:${this.#server.addr.port}/v1`;
  }

  /** Answers the held upgrade requests. */
  releaseUpgrades(): void {
    this.holdUpgrades = false;
    for (const release of this.#held.splice(0)) release();
  }

  /** Session number `index` (0 = first), waiting for it if needed. */
  session(index = 0): Promise<FakeRealtimeSession> {
    return this.sessions.waitFor(() => true, { what: `Realtime session #${index}`, from: index });
  }

  /** Closes every session and the server. */
  async close(): Promise<void> {
    this.releaseUpgrades();
    for (const session of this.sessions.items) session.close();
    await Promise.all(this.sessions.items.map((s) => s.closed));
    await this.live?.close();
    await this.sip?.close();
    await this.#server?.shutdown();
  }

  /** Answers one HTTP request (an upgrade to `/v1/realtime`); another fake server may delegate. */
  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const authorization = req.headers.get("authorization");
    const record = (status: UpgradeRecord["status"]) =>
      this.upgrades.push({ status, authorization, url: req.url });
    if (this.live && url.pathname === "/v1/live/sessions") return this.live.handle(req);
    const sip = this.sip ? (this.sip.upgrade(req) ?? await this.sip.handle(req)) : null;
    if (sip) return sip;
    if (url.pathname !== "/v1/realtime" || req.headers.get("upgrade") !== "websocket") {
      return new Response("not found", { status: 404 });
    }
    if (this.holdUpgrades) {
      const aborted = await new Promise<boolean>((resolve) => {
        this.#held.push(() => resolve(false));
        req.signal.addEventListener("abort", () => resolve(true));
      });
      if (aborted) {
        record("aborted");
        return new Response(null, { status: 499 });
      }
    }
    if (this.refuseStatus) {
      record("refused");
      return new Response("refused", { status: this.refuseStatus });
    }
    if (!authorization?.startsWith("Bearer ") || authorization.length < 8) {
      record("refused");
      return Response.json({ error: { message: "Missing bearer authentication" } }, {
        status: 401,
      });
    }
    if (req.headers.get("openai-beta") || !url.searchParams.get("model")) {
      record("refused");
      return Response.json({ error: { message: "beta protocol or no model" } }, { status: 400 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    record("accepted");
    const model = url.searchParams.get("model")!;
    this.sessions.push(new FakeRealtimeSession(socket, this, model));
    return response;
  }
}
