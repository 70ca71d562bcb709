/**
 * OpenAI Realtime (GA) wire protocol: builders for the client events the bridge sends and a
 * parser that validates the server events it acts on, once, at the socket boundary.
 *
 * Only GA shapes are produced (`audio/pcmu`, `response.output_audio.*`, `session.type`); the beta
 * ones are rejected by the real API. Every client event is checked against the `openai` SDK's
 * types at compile time (`satisfies`), and every server event the SDK knows is either handled
 * or listed as ignored (a compile error names one that is neither).
 *
 * @module
 */

import type {
  ConversationItemCreateEvent,
  ConversationItemTruncateEvent,
  InputAudioBufferAppendEvent,
  RealtimeAudioInputTurnDetection,
  RealtimeServerEvent as SdkServerEvent,
  ResponseCancelEvent,
  ResponseCreateEvent,
  SessionUpdateEvent,
} from "openai/resources/realtime/realtime";
import type { TurnDetection } from "../platform/config.ts";
import type { TokenUsage } from "../platform/model_prices.ts";

import { isBase64, isDtmfDigit } from "./media_streams.ts";
import {
  type JsonObject,
  jsonObject,
  numberField,
  parseJsonFrame,
  textField,
} from "./json_fields.ts";
import type { ParseResult } from "./parse_result.ts";
import { audioSplicer } from "./audio_splice.ts";

/** A function the model may call, as the session declares it. */
export interface FunctionDeclaration {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
}

/** What {@link sessionUpdate} puts in the session. */
export interface SessionOptions {
  model: string;
  voice: string;
  instructions: string;
  turnDetection: TurnDetection;
  /** Input transcription model ("" = no transcription). */
  transcriptionModel: string;
  /** Functions the model may call. */
  tools?: readonly FunctionDeclaration[];
  /** Longest response in tokens (1 to 4096) or "inf"; unset = the API's default ("inf"). */
  maxOutputTokens?: number | "inf" | null;
}

/** The GA `turn_detection` object for the configured VAD. */
function turnDetectionJson(td: TurnDetection): RealtimeAudioInputTurnDetection {
  const common = { create_response: true, interrupt_response: true };
  if (td.type === "semantic_vad") {
    return { type: "semantic_vad", eagerness: td.eagerness, ...common };
  }
  return {
    type: "server_vad",
    threshold: td.threshold,
    prefix_padding_ms: td.prefixPaddingMs,
    silence_duration_ms: td.silenceDurationMs,
    ...common,
  };
}

/** `session.update`: µ-law both ways (Twilio's format, so audio passes through untouched). */
export function sessionUpdate(options: SessionOptions): string {
  const tools = options.tools?.length
    ? {
      tools: options.tools.map((t) => ({ type: "function" as const, ...t })),
      tool_choice: "auto" as const,
    }
    : {};
  return JSON.stringify(
    {
      type: "session.update",
      session: {
        type: "realtime",
        model: options.model,
        output_modalities: ["audio"],
        instructions: options.instructions,
        audio: {
          input: {
            format: { type: "audio/pcmu" },
            turn_detection: turnDetectionJson(options.turnDetection),
            ...(options.transcriptionModel
              ? { transcription: { model: options.transcriptionModel } }
              : {}),
          },
          output: { format: { type: "audio/pcmu" }, voice: options.voice },
        },
        ...tools,
        ...(options.maxOutputTokens != null ? { max_output_tokens: options.maxOutputTokens } : {}),
      },
    } satisfies SessionUpdateEvent,
  );
}

/** `session.update` of the instructions only (e.g. after a language switch). */
export function sessionInstructions(instructions: string): string {
  return JSON.stringify(
    {
      type: "session.update",
      session: { type: "realtime", instructions },
    } satisfies SessionUpdateEvent,
  );
}

/** `conversation.item.create` of a function call's output. */
export function functionCallOutput(callId: string, output: string): string {
  return JSON.stringify(
    {
      type: "conversation.item.create",
      item: { type: "function_call_output", call_id: callId, output },
    } satisfies ConversationItemCreateEvent,
  );
}

/** What {@link appendAudio} writes, checked against the SDK's type. */
const APPEND = audioSplicer(
  { type: "input_audio_buffer.append", audio: "" } satisfies InputAudioBufferAppendEvent,
);

/** `input_audio_buffer.append` around an already-base64 payload (validated by the caller). */
export function appendAudio(payload: string): string {
  return APPEND(payload);
}

/** `conversation.item.truncate`: the assistant item was heard only up to `audioEndMs`. */
export function truncateItem(itemId: string, audioEndMs: number): string {
  return JSON.stringify(
    {
      type: "conversation.item.truncate",
      item_id: itemId,
      content_index: 0,
      audio_end_ms: audioEndMs,
    } satisfies ConversationItemTruncateEvent,
  );
}

const CANCEL = JSON.stringify({ type: "response.cancel" } satisfies ResponseCancelEvent);

/** `response.cancel` for the response in progress. */
export function cancelResponse(): string {
  return CANCEL;
}

/** `response.create`, optionally with instructions for this response only. */
export function createResponse(instructions?: string): string {
  return JSON.stringify(
    (instructions
      ? { type: "response.create", response: { instructions } }
      : { type: "response.create" }) satisfies ResponseCreateEvent,
  );
}

/** `conversation.item.create` of a text message (re-seeding a conversation, key presses). */
export function createTextItem(role: "user" | "assistant", text: string): string {
  const item: ConversationItemCreateEvent["item"] = role === "user"
    ? { type: "message", role, content: [{ type: "input_text", text }] }
    : { type: "message", role, content: [{ type: "output_text", text }] };
  return JSON.stringify(
    { type: "conversation.item.create", item } satisfies ConversationItemCreateEvent,
  );
}

/** Token usage of one response. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** Text and audio, cached or not, when the server broke the tokens down (it does). */
  details?: TokenUsage;
}

/** The server events the bridge acts on; everything else known is `other`. */
export type RealtimeServerEvent =
  | { type: "session.created" }
  | { type: "session.updated" }
  | { type: "input_audio_buffer.speech_started"; itemId: string; audioStartMs: number }
  | { type: "input_audio_buffer.speech_stopped"; itemId: string; audioEndMs: number }
  /** SIP calls only: a key the caller pressed. */
  | { type: "input_audio_buffer.dtmf_event_received"; key: string }
  | { type: "response.created"; responseId: string }
  | { type: "response.output_audio.delta"; responseId: string; itemId: string; delta: string }
  | { type: "response.output_audio_transcript.done"; itemId: string; transcript: string }
  | {
    type: "conversation.item.input_audio_transcription.completed";
    itemId: string;
    transcript: string;
  }
  | { type: "response.done"; responseId: string; status: string; usage: Usage | null }
  | {
    type: "response.function_call_arguments.done";
    responseId: string;
    callId: string;
    name: string;
    arguments: string;
  }
  | { type: "error"; errorType: string; code: string; message: string }
  | { type: "other"; name: string };

type Json = JsonObject;

/** The fields of an OpenAI `error` event (both voice APIs write it alike), its message capped. */
export function openAiError(
  event: JsonObject,
): { errorType: string; code: string; message: string } {
  const error = jsonObject(event.error);
  return {
    errorType: textField(error, "type"),
    code: textField(error, "code"),
    message: textField(error, "message").slice(0, 300),
  };
}

/** GA server events the bridge knows but does not act on: dropped quietly, not counted as bad. */
const IGNORED = [
  "conversation.created",
  "conversation.item.added",
  "conversation.item.created",
  "conversation.item.done",
  "conversation.item.deleted",
  "conversation.item.retrieved",
  "conversation.item.truncated",
  "conversation.item.input_audio_transcription.delta",
  "conversation.item.input_audio_transcription.segment",
  "conversation.item.input_audio_transcription.failed",
  "input_audio_buffer.committed",
  "input_audio_buffer.cleared",
  "input_audio_buffer.timeout_triggered",
  "output_audio_buffer.started",
  "output_audio_buffer.stopped",
  "output_audio_buffer.cleared",
  "response.output_item.added",
  "response.output_item.done",
  "response.content_part.added",
  "response.content_part.done",
  "response.output_audio.done",
  "response.output_audio_transcript.delta",
  "response.output_text.delta",
  "response.output_text.done",
  "response.function_call_arguments.delta",
  "rate_limits.updated",
  // Remote MCP tools (the bridge declares none).
  "mcp_list_tools.in_progress",
  "mcp_list_tools.completed",
  "mcp_list_tools.failed",
  "response.mcp_call_arguments.delta",
  "response.mcp_call_arguments.done",
  "response.mcp_call.in_progress",
  "response.mcp_call.completed",
  "response.mcp_call.failed",
] as const satisfies readonly SdkServerEvent["type"][];
const KNOWN_OTHER: ReadonlySet<string> = new Set(IGNORED);

/** Every server event of the SDK is handled or ignored: `true` fails to compile otherwise. */
type Unlisted = Exclude<
  SdkServerEvent["type"],
  Exclude<RealtimeServerEvent["type"], "other"> | typeof IGNORED[number]
>;
const EVERY_EVENT_LISTED: [Unlisted] extends [never] ? true : Unlisted = true;
void EVERY_EVENT_LISTED;

function usage(value: unknown): Usage | null {
  const u = jsonObject(value);
  if (!u) return null;
  const inputTokens = numberField(u, "input_tokens");
  const outputTokens = numberField(u, "output_tokens");
  const result: Usage = {
    inputTokens,
    outputTokens,
    totalTokens: numberField(u, "total_tokens") || inputTokens + outputTokens,
  };
  const input = jsonObject(u.input_token_details);
  const output = jsonObject(u.output_token_details);
  if (input || output) {
    const cached = jsonObject(input?.cached_tokens_details);
    result.details = {
      input: numberField(input, "text_tokens"),
      cachedInput: numberField(cached, "text_tokens"),
      output: numberField(output, "text_tokens"),
      audioInput: numberField(input, "audio_tokens"),
      cachedAudioInput: numberField(cached, "audio_tokens"),
      audioOutput: numberField(output, "audio_tokens"),
    };
  }
  return result;
}

/**
 * `response.output_audio.delta` as the API writes it (fields in this order, `event_id` first or
 * second, no whitespace, strings that need no escape): the ids and the delta are read without
 * building the JSON object. A frame that differs in any way goes through the full parser, so the
 * result is always the same.
 */
const AUDIO_DELTA_FRAME =
  /^\{(?:"event_id":"[ !#-\[\]-\uffff]*",)?"type":"response\.output_audio\.delta",(?:"event_id":"[ !#-\[\]-\uffff]*",)?"response_id":"([ !#-\[\]-\uffff]*)","item_id":"([ !#-\[\]-\uffff]+)","output_index":\d+,"content_index":\d+,"delta":"([A-Za-z0-9+/]*={0,2})"\}$/;

/** Parses and validates one frame from the Realtime API. Never throws. */
export function parseServerEvent(data: unknown): ParseResult<RealtimeServerEvent> {
  // Fast path for the frame that carries the audio; see AUDIO_DELTA_FRAME.
  const delta = typeof data === "string" ? AUDIO_DELTA_FRAME.exec(data) : null;
  if (delta && delta[3].length % 4 === 0) {
    return {
      ok: true,
      message: {
        type: "response.output_audio.delta",
        responseId: delta[1],
        itemId: delta[2],
        delta: delta[3],
      },
    };
  }
  const frame = parseJsonFrame(data);
  if (!frame.ok) return frame;
  const m = frame.value;
  if (typeof m.type !== "string") return { ok: false, error: "no type" };
  const type = m.type;
  switch (type) {
    case "response.output_audio.delta": {
      const delta = m.delta;
      const itemId = textField(m, "item_id");
      if (typeof delta !== "string" || !isBase64(delta) || !itemId) {
        return { ok: false, error: "audio delta without base64 delta or item_id" };
      }
      return {
        ok: true,
        message: { type, responseId: textField(m, "response_id"), itemId, delta },
      };
    }
    case "session.created":
    case "session.updated":
      return { ok: true, message: { type } };
    case "input_audio_buffer.speech_started":
      return {
        ok: true,
        message: {
          type,
          itemId: textField(m, "item_id"),
          audioStartMs: numberField(m, "audio_start_ms"),
        },
      };
    case "input_audio_buffer.dtmf_event_received":
      if (!isDtmfDigit(m.event)) return { ok: false, error: `${type} without a valid digit` };
      return { ok: true, message: { type, key: m.event } };
    case "input_audio_buffer.speech_stopped":
      return {
        ok: true,
        message: {
          type,
          itemId: textField(m, "item_id"),
          audioEndMs: numberField(m, "audio_end_ms"),
        },
      };
    case "response.created":
      return { ok: true, message: { type, responseId: textField(jsonObject(m.response), "id") } };
    case "response.output_audio_transcript.done":
    case "conversation.item.input_audio_transcription.completed":
      return {
        ok: true,
        message: { type, itemId: textField(m, "item_id"), transcript: textField(m, "transcript") },
      };
    case "response.done": {
      const response = jsonObject(m.response);
      return {
        ok: true,
        message: {
          type,
          responseId: textField(response, "id"),
          status: textField(response, "status"),
          usage: usage(response?.usage),
        },
      };
    }
    case "response.function_call_arguments.done": {
      const callId = textField(m, "call_id");
      const name = textField(m, "name");
      if (!callId || !name) return { ok: false, error: "function call without call_id or name" };
      return {
        ok: true,
        message: {
          type,
          responseId: textField(m, "response_id"),
          callId,
          name,
          arguments: textField(m, "arguments"),
        },
      };
    }
    case "error":
      return { ok: true, message: { type, ...openAiError(m) } };
    default:
      if (KNOWN_OTHER.has(type)) return { ok: true, message: { type: "other", name: type } };
      return { ok: false, error: `unknown type "${type.slice(0, 60)}"` };
  }
}
