/**
 * One socket of the fake Realtime server: a Realtime (GA) session. It records every client event,
 * refuses what the real service refuses (unknown events, audio before the session is configured,
 * a `session.update` against {@link sessionProblem}'s rules, a truncate past the item's audio, a
 * cancel with no response in progress, an item the conversation does not admit) with the real
 * `error` event's shape, and answers with {@link RealtimeReplies}. `speech_started` and
 * `speech_stopped` come on demand, as do server errors, expiry and closes.
 *
 * @module
 */

import type {
  ConversationItem as RealtimeItem,
  RealtimeSessionCreateRequest,
} from "openai/resources/realtime/realtime";
import { type JsonObject, jsonObject } from "../../lib/protocols/json_fields.ts";
import { EventLog } from "./event_log.ts";
import {
  type ConversationItem,
  type OutgoingEvent,
  RealtimeReplies,
  type ReplySettings,
} from "./realtime_replies.ts";
import { sessionProblem } from "./realtime_session_rules.ts";

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

type Json = JsonObject;

const APPEND_HEAD = '{"type":"input_audio_buffer.append","audio":"';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The fake server's settings a session follows, read when used (the `FakeRealtime` has them). */
export interface SessionSettings extends ReplySettings {
  /** `echo`: appended audio comes back at once (see `FakeRealtimeOptions`). */
  readonly mode: "script" | "echo";
  /** Deltas of the interrupted reply still sent after `speech_started`. */
  readonly lateDeltas: number;
  /** Deltas of a cancelled reply still sent after `response.cancel`. */
  readonly cancelLateDeltas: number;
  /** Called with the audio and arrival time of every accepted append. */
  readonly onAppend: ((audio: string, at: number) => void) | null;
  /** Called with the type and arrival time of every client event but audio appends. */
  readonly onClientEvent: ((type: string, at: number) => void) | null;
}

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
   * The model transcribing the caller's audio, as the last `session.update` that set
   * `audio.input.transcription` left it: null (the API's default) transcribes nothing.
   */
  transcriptionModel: string | null = null;
  /**
   * `response.create`s whose own instructions leave out the session's: a response's
   * instructions replace the session's, so that response ran without the agent's persona.
   */
  readonly droppedInstructions: ClientEvent[] = [];
  closed: Promise<CloseEvent>;

  #socket: WebSocket;
  #fake: SessionSettings;
  #ids = 0;
  #items = new Map<string, ConversationItem>();
  /** Function calls made, by call_id, and whether their output has been given. */
  readonly functionCalls = new Map<string, { name: string; answered: boolean }>();
  #replies: RealtimeReplies;
  #speechItem: string | null = null;

  /** The model of the socket's URL: a session's model, fixed when it opens. */
  readonly model: string;

  constructor(socket: WebSocket, fake: SessionSettings, model = "gpt-realtime") {
    this.#socket = socket;
    this.#fake = fake;
    this.model = model;
    this.#replies = new RealtimeReplies(fake, {
      send: (event) => this.#send(event),
      sendRaw: (text) => this.#socket.send(text),
      id: (prefix) => this.#id(prefix),
      items: this.#items,
      functionCalls: this.functionCalls,
    });
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (ev) => {
        this.#replies.close();
        resolve(ev);
      });
    });
    socket.addEventListener("open", () => {
      this.#send({
        type: "session.created",
        // The SDK types the session as the request's fields (the API's own adds an id).
        session: { type: "realtime", model: this.model },
      });
    });
    socket.addEventListener("message", (ev) => this.#onMessage(ev.data));
  }

  /** The reply currently being sent, if any. */
  get activeResponse(): string | null {
    return this.#replies.activeId;
  }

  /** Emits `input_audio_buffer.speech_started` (the caller starts talking). */
  speechStarted(): void {
    this.#speechItem = this.#id("item");
    this.#send({
      type: "input_audio_buffer.speech_started",
      audio_start_ms: 0,
      item_id: this.#speechItem,
    });
    if (!this.interruptResponse) return;
    // Deltas already on the wire when the server noticed the caller.
    this.lateDeltasSent += this.#replies.cut(this.#fake.lateDeltas);
  }

  /**
   * Emits `speech_stopped` and the user item, then (VAD `create_response`) a reply, and the
   * item's transcript if the session asked for one (`audio.input.transcription`).
   */
  speechStopped(transcript = "hello there"): void {
    const itemId = this.#speechItem ?? this.#id("item");
    this.#speechItem = null;
    this.#send({ type: "input_audio_buffer.speech_stopped", audio_end_ms: 0, item_id: itemId });
    this.#send({ type: "input_audio_buffer.committed", item_id: itemId, previous_item_id: null });
    this.#items.set(itemId, { role: "user", audioBytes: 0 });
    this.#replies.start();
    if (this.transcriptionModel === null) return;
    this.#send({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: itemId,
      content_index: 0,
      transcript,
      // A gpt-4o-*-transcribe model is billed by tokens (whisper-1 would report a duration).
      usage: {
        type: "tokens",
        input_tokens: 13,
        output_tokens: 9,
        total_tokens: 22,
        input_token_details: { text_tokens: 0, audio_tokens: 13 },
      },
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
    this.#replies.stop();
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close(code, reason);
  }

  #id(prefix: string): string {
    return `${prefix}_${(++this.#ids).toString(36).padStart(6, "0")}`;
  }

  #send(event: OutgoingEvent): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    this.sent.push(event.type);
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
    if (typeof data === "string" && data.startsWith(APPEND_HEAD) && data.endsWith('"}')) {
      const audio = data.slice(APPEND_HEAD.length, -2);
      if (BASE64.test(audio)) {
        if (this.#fake.mode !== "echo") {
          this.events.push({ type: "input_audio_buffer.append", audio });
        }
        return this.#onAppend(audio);
      }
      // Not plain base64 between the quotes (an escape, or not audio): parsed as any event.
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
      const audio = event.audio;
      if (typeof audio !== "string" || !BASE64.test(audio)) {
        return this.#reject("invalid_value", "Invalid 'audio'. Expected base64.", type);
      }
      return this.#onAppend(audio);
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
        if (this.#replies.activeId !== null) {
          return this.#reject(
            "conversation_already_has_active_response",
            "Conversation already has an active response in progress.",
            type,
          );
        }
        return this.#replies.start();
      }
      case "response.cancel": {
        if (this.#replies.activeId === null) {
          return this.#reject(
            "response_cancel_not_active",
            "Cancellation failed: no active response found",
            type,
          );
        }
        // Deltas already on their way when the server got the cancel.
        this.lateDeltasSent += this.#replies.cut(this.#fake.cancelLateDeltas);
        return;
      }
      case "conversation.item.truncate":
        return this.#onTruncate(event);
      case "conversation.item.create":
        return this.#onItemCreate(jsonObject(event.item));
    }
  }

  #onSessionUpdate(session: Json | null, eventId: unknown): void {
    const found = sessionProblem(session, this.model);
    if (found) {
      return this.#reject(found.code, found.message, "session.update", found.param, eventId);
    }
    this.configured = true;
    if (typeof session!.instructions === "string") this.instructions = session!.instructions;
    const input = jsonObject(jsonObject(session!.audio)?.input);
    if (input && "transcription" in input) {
      // An update without the field keeps the session's; null turns transcription off.
      const model = jsonObject(input.transcription)?.model;
      this.transcriptionModel = typeof model === "string" ? model : null;
    }
    const td = jsonObject(input?.turn_detection);
    this.interruptResponse = td?.interrupt_response !== false;
    // Echoed as accepted: sessionProblem held it to the request's fields.
    const accepted = session as unknown as RealtimeSessionCreateRequest;
    this.#send({ type: "session.updated", session: accepted });
  }

  /** An append whose audio is base64 (checked once, by whichever path read the frame). */
  #onAppend(audio: string): void {
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
    if (this.#fake.mode === "echo") this.#replies.echo(audio);
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
      const output = item.output;
      if (!call || typeof output !== "string") {
        return this.#reject(
          "invalid_value",
          `Tool call ID '${callId}' not found in conversation.`,
          "conversation.item.create",
        );
      }
      call.answered = true;
      this.#send({
        type: "conversation.item.added",
        item: { id: this.#id("item"), type: "function_call_output", call_id: callId, output },
      });
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
    // A message of the role's content types, as checked above.
    this.#send({ type: "conversation.item.added", item: { id, ...item } as RealtimeItem });
  }
}
