/**
 * OpenAI GPT-Live wire protocol (`/v1/live/sessions`, primary WebSocket): builders for the client
 * events the bridge sends and a parser for the server events it acts on, once, at the socket
 * boundary. Audio is `audio/pcmu` both ways, so Twilio's µ-law passes through untouched.
 *
 * Tools go through Live's delegation to a Responses backend whose function tools the application
 * answers: the backend's function calls arrive nested in `response.event`, the bridge runs them
 * from the agent's tool set, gives each output back with `response.item.create` and continues
 * the delegated response with `response.create`. Every client event is checked against the
 * `openai` SDK's types at compile time (`satisfies`), and every server event the SDK knows is
 * either handled or listed as ignored (a compile error names one that is neither).
 *
 * @module
 */

import type {
  CommentaryAppendEvent,
  FunctionTool,
  InputAudioAppendEvent,
  ResponseCreateEvent,
  ResponseItemCreateEvent,
  ServerEvent as SdkServerEvent,
  SessionCloseEvent,
  SessionStartEvent,
} from "openai/resources/live/live";
import type { ConnectClientEvent } from "openai/resources/live/sideband/sideband";
import { isBase64, isDtmfDigit } from "./media_streams.ts";
import { jsonObject, numberField, parseJsonFrame, textField } from "./json_fields.ts";
import { type FunctionDeclaration, openAiError } from "./openai_realtime.ts";
import type { ParseResult } from "./parse_result.ts";
import { audioSplicer } from "./audio_splice.ts";

/** What {@link sessionStart} puts in the session. */
export interface LiveSessionOptions {
  /** The Live model (e.g. `gpt-live-1`). */
  model: string;
  voice: string;
  instructions: string;
  /** The Responses model delegated tasks (and the agent's tools) run on. */
  delegationModel: string;
  /** Functions the delegated model may call; the application answers them. */
  tools: readonly FunctionDeclaration[];
}

/**
 * Tools and reasoning delegated to a Responses backend (the agent's text model, under the same
 * instructions), whose function calls the application answers: for `session.start` and for a
 * SIP call's accept alike.
 */
export function responsesDelegation(
  options: Pick<LiveSessionOptions, "delegationModel" | "instructions" | "tools">,
) {
  const tools: FunctionTool[] = options.tools.map((t) => ({ type: "function", ...t }));
  return {
    type: "responses" as const,
    responses: {
      model: options.delegationModel,
      instructions: options.instructions,
      tools,
      parallel_tool_calls: true,
    },
  };
}

/** `session.start`: µ-law both ways, the agent's voice and instructions, tools by delegation. */
export function sessionStart(options: LiveSessionOptions): string {
  return JSON.stringify(
    {
      type: "session.start",
      session: {
        model: options.model,
        instructions: options.instructions,
        audio: {
          format: { type: "audio/pcmu", rate: 8000 },
          output: { voice: options.voice },
        },
        delegation: responsesDelegation(options),
      },
    } satisfies SessionStartEvent,
  );
}

/** What {@link appendLiveAudio} writes, checked against the SDK's type. */
const LIVE_APPEND = audioSplicer(
  { type: "session.input_audio.append", audio: "" } satisfies InputAudioAppendEvent,
);

/** `session.input_audio.append` around an already-base64 µ-law payload. */
export function appendLiveAudio(payload: string): string {
  return LIVE_APPEND(payload);
}

/**
 * `transport.dtmf.send` (a sideband of a SIP call only): one key pressed on the call, `key` one
 * of 0-9, A-D, `*` and `#`; OpenAI confirms it with `transport.dtmf.sent`. Several keys are
 * several events.
 */
export function sendDtmf(key: string): string {
  return JSON.stringify({ type: "transport.dtmf.send", event: key } satisfies ConnectClientEvent);
}

/** `session.commentary.append`: speakable context (a greeting, a reminder) for the model. */
export function commentary(content: string): string {
  return JSON.stringify(
    {
      type: "session.commentary.append",
      content,
      delegation_id: null,
    } satisfies CommentaryAppendEvent,
  );
}

/** `response.item.create` of a function call's output, for the Responses backend. */
export function liveFunctionOutput(callId: string, output: string): string {
  return JSON.stringify(
    {
      type: "response.item.create",
      item: { type: "function_call_output", call_id: callId, output },
    } satisfies ResponseItemCreateEvent,
  );
}

/** `response.create`: continues a delegated response that was waiting for tool results. */
export function continueResponse(): string {
  return JSON.stringify({ type: "response.create" } satisfies ResponseCreateEvent);
}

/** `session.close`: ends the session (it answers `session.closed` with the final usage). */
export function closeSession(): string {
  return JSON.stringify({ type: "session.close" } satisfies SessionCloseEvent);
}

/** Token usage of one delegated Responses response. */
export interface DelegatedUsage {
  inputTokens: number;
  outputTokens: number;
}

/** What a nested Responses event (in `response.event`) means to the bridge. */
export type DelegatedEvent =
  | { kind: "function_call"; callId: string; name: string; arguments: string }
  | { kind: "done"; responseId: string; status: string; usage: DelegatedUsage | null }
  | { kind: "other" };

/** The server events the bridge acts on; everything else known is `other`. */
export type LiveServerEvent =
  | { type: "session.started"; sessionId: string }
  | { type: "session.output_audio.delta"; delta: string }
  | { type: "session.input_transcript.delta"; delta: string; endMs: number }
  | { type: "session.output_transcript.delta"; delta: string }
  | { type: "session.delegation.created"; delegationId: string; target: string }
  | { type: "response.event"; delegationId: string | null; event: DelegatedEvent }
  | { type: "session.usage.updated"; seconds: number }
  | { type: "session.closed"; reason: string; seconds: number }
  /** SIP calls, sidebands only: a key the caller pressed. */
  | { type: "transport.dtmf.received"; key: string }
  | { type: "error"; errorType: string; code: string; message: string }
  | { type: "other"; name: string };

/** Server events the bridge knows but does not act on: dropped quietly, not counted as bad. */
const IGNORED = [
  "session.updated",
  "session.input_audio.muted",
  "session.input_audio.unmuted",
  "session.output_audio.fixture.playing",
  "session.output_audio.fixture.played",
  "session.instructions.appended",
  "session.thinking.appended",
  "session.commentary.appended",
  // Reflected on sidebands only.
  "session.input_audio.append",
  "decision.event",
  "decision.item.created",
  "decision.item.deleted",
  "info",
  // SIP transport notices (a caller's key press is parsed: transport.dtmf.received).
  "transport.dtmf.send",
  "transport.dtmf.sent",
  "transport.ringing",
  "transport.answered",
  "transport.failed",
] as const satisfies readonly NonNullable<SdkServerEvent["type"]>[];
const KNOWN_OTHER: ReadonlySet<string> = new Set(IGNORED);

/** Every server event of the SDK is handled or ignored: `true` fails to compile otherwise. */
type Unlisted = Exclude<
  NonNullable<SdkServerEvent["type"]>,
  Exclude<LiveServerEvent["type"], "other"> | typeof IGNORED[number]
>;
const EVERY_EVENT_LISTED: [Unlisted] extends [never] ? true : Unlisted = true;
void EVERY_EVENT_LISTED;

/** `session.output_audio.delta` on the primary socket as the API writes it (no timestamps). */
const AUDIO_DELTA_FRAME =
  /^\{"delta":"([A-Za-z0-9+/]*={0,2})","type":"session\.output_audio\.delta"\}$|^\{"type":"session\.output_audio\.delta","delta":"([A-Za-z0-9+/]*={0,2})"\}$/;

/** What a nested Responses streaming event means (a function call, the response's end). */
export function delegatedEvent(value: unknown): DelegatedEvent {
  const e = jsonObject(value);
  const type = textField(e, "type");
  if (type === "response.output_item.done") {
    const item = jsonObject(e?.item);
    const callId = textField(item, "call_id");
    const name = textField(item, "name");
    if (textField(item, "type") === "function_call" && callId && name) {
      return { kind: "function_call", callId, name, arguments: textField(item, "arguments") };
    }
  }
  if (
    type === "response.completed" || type === "response.failed" || type === "response.incomplete"
  ) {
    const response = jsonObject(e?.response);
    const u = jsonObject(response?.usage);
    const usage = u
      ? {
        inputTokens: numberField(u, "input_tokens"),
        outputTokens: numberField(u, "output_tokens"),
      }
      : null;
    return {
      kind: "done",
      responseId: textField(response, "id"),
      status: textField(response, "status"),
      usage,
    };
  }
  return { kind: "other" };
}

/** Parses and validates one frame from the Live API. Never throws. */
export function parseLiveEvent(data: unknown): ParseResult<LiveServerEvent> {
  const fast = typeof data === "string" ? AUDIO_DELTA_FRAME.exec(data) : null;
  const fastDelta = fast ? fast[1] ?? fast[2] : undefined;
  if (fastDelta !== undefined && fastDelta.length % 4 === 0) {
    return { ok: true, message: { type: "session.output_audio.delta", delta: fastDelta } };
  }
  const frame = parseJsonFrame(data);
  if (!frame.ok) return frame;
  const m = frame.value;
  if (typeof m.type !== "string") return { ok: false, error: "no type" };
  const type = m.type;
  switch (type) {
    case "session.started": {
      const sessionId = textField(jsonObject(m.session), "id");
      if (!sessionId) return { ok: false, error: "session.started without session.id" };
      return { ok: true, message: { type, sessionId } };
    }
    case "session.output_audio.delta": {
      const delta = m.delta;
      if (typeof delta !== "string" || !isBase64(delta)) {
        return { ok: false, error: "audio delta without a base64 delta" };
      }
      return { ok: true, message: { type, delta } };
    }
    case "session.input_transcript.delta":
      return {
        ok: true,
        message: { type, delta: textField(m, "delta"), endMs: numberField(m, "end_ms") },
      };
    case "session.output_transcript.delta":
      return { ok: true, message: { type, delta: textField(m, "delta") } };
    case "session.delegation.created": {
      const delegation = jsonObject(m.delegation);
      const delegationId = textField(delegation, "id");
      if (!delegationId) return { ok: false, error: "delegation without an id" };
      return { ok: true, message: { type, delegationId, target: textField(delegation, "target") } };
    }
    case "response.event": {
      const delegationId = typeof m.delegation_id === "string" ? m.delegation_id : null;
      return { ok: true, message: { type, delegationId, event: delegatedEvent(m.event) } };
    }
    case "session.usage.updated":
      return { ok: true, message: { type, seconds: numberField(jsonObject(m.usage), "seconds") } };
    case "session.closed":
      return {
        ok: true,
        message: {
          type,
          reason: textField(m, "reason"),
          seconds: numberField(jsonObject(m.usage), "seconds"),
        },
      };
    case "transport.dtmf.received":
      if (!isDtmfDigit(m.event)) return { ok: false, error: `${type} without a valid digit` };
      return { ok: true, message: { type, key: m.event } };
    case "error":
      return { ok: true, message: { type, ...openAiError(m) } };
    default:
      if (KNOWN_OTHER.has(type)) return { ok: true, message: { type: "other", name: type } };
      return { ok: false, error: `unknown type "${type.slice(0, 60)}"` };
  }
}
