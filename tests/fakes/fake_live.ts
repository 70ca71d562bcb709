/**
 * A fake OpenAI GPT-Live primary WebSocket (`/v1/live/sessions`) on 127.0.0.1, following the
 * `openai` SDK's types (`resources/live/live.d.ts`) so that the SDK's own `LiveWS` talks to it.
 *
 * It refuses what the real service refuses: a query on the URL, a missing `Authorization`, a
 * first message that is not `session.start`, unknown session fields, an audio format or a
 * delegation the SDK does not type, audio or commands before `session.started`,
 * `response.item.create` / `response.create` without a Responses delegation, a function output
 * for a call that is not pending, and unknown client events (an `error` event with
 * `invalid_request_error`, a code and the `param`). Its output is paced on timers like the real
 * server's (`speed` 1 = real time) and it has no response or item ids; when the caller speaks
 * over it ({@link FakeLiveSession.callerSays}) it stops sending, as Live does. Delegations run
 * the agent's function tools as a Responses backend would: the calls arrive nested in
 * `response.event`, and the answer is spoken once every output came back and `response.create`
 * continued it. Every client event is recorded (but the audio appends in echo mode).
 *
 * In echo mode (the benchmark's) appended audio comes back as output, paced as Live paces it
 * (`paced_echo.ts`); the caller speaking over it drops what waits, and later audio echoes again.
 */

import type {
  ServerEvent,
  SessionClosedEvent,
  SessionResource,
  SessionUsage,
} from "openai/resources/live/live";
import { Buffer } from "node:buffer";
import { jsonObject } from "../../lib/protocols/json_fields.ts";
import { EventLog } from "./event_log.ts";
import { replyAudio } from "./realtime_replies.ts";
import { PacedEcho } from "./paced_echo.ts";

/** A client event as recorded. */
export type LiveClientEvent = Record<string, unknown> & { type: string };

/** One scripted utterance of the model. */
export interface LiveSpeech {
  /** Audio length in ms (µ-law at 8 bytes per ms). */
  audioMs: number;
  deltaMs: number;
  /** 1 = real time (as the real server paces), 4 = four times faster. */
  speed: number;
  transcript: string;
}

const SESSION_KEYS = new Set([
  "model",
  "audio",
  "client",
  "delegation",
  "input",
  "instructions",
  "store",
  "triggers",
]);
const CLIENT_EVENTS = new Set([
  "session.start",
  "session.update",
  "session.input_audio.append",
  "session.input_audio.mute",
  "session.input_audio.unmute",
  "session.output_audio.fixture.play",
  "session.instructions.append",
  "session.thinking.append",
  "session.commentary.append",
  "decision.create",
  "decision.item.create",
  "decision.item.delete",
  "response.item.create",
  "response.create",
  "session.close",
]);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** An append as the service writes it (`audio` last), read without a parse. */
const APPEND_HEAD = '{"type":"session.input_audio.append","audio":"';

/** One Live session (one accepted socket). */
export class FakeLiveSession {
  readonly id = `live_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
  readonly events = new EventLog<LiveClientEvent>();
  readonly errors = new EventLog<{ code: string; param: string | null; cause: string }>();
  /** Caller audio appended, in order. */
  readonly audio: string[] = [];
  /** The `session` of `session.start`, once sent. */
  config: Record<string, unknown> | null = null;
  /** Deltas of output audio sent, in order. */
  readonly sent: string[] = [];
  /** Utterances cut short by the caller (the ms of audio sent before the cut). */
  readonly cut: number[] = [];
  readonly closed: Promise<void>;
  #started = false;
  #speaking: { timer: ReturnType<typeof setTimeout> | undefined; sentMs: number } | null = null;
  #seq = 0;
  #delegations = 0;
  /** Function calls of the delegation waiting for outputs, by call id. */
  #pending = new Map<string, string>();
  #answered = 0;
  #waiting: { id: string; reply: LiveSpeech } | null = null;
  /** Echo mode: the caller's audio back as output, paced. */
  readonly #echo: PacedEcho;
  /** Bytes of output audio sent so far (spoken and echoed): what the usage counts. */
  #outputBytes = 0;

  constructor(private readonly socket: WebSocket, private readonly server: FakeLive) {
    this.#echo = new PacedEcho((text, bytes) => {
      if (socket.readyState !== WebSocket.OPEN) return;
      this.#outputBytes += bytes;
      socket.send(text);
    }, server);
    this.closed = new Promise((resolve) =>
      socket.addEventListener("close", () => {
        this.#echo.drop();
        resolve();
      })
    );
    socket.addEventListener("message", (ev) => this.#onMessage(ev.data));
  }

  /** The client's events of `type`. */
  of(type: string): LiveClientEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  /** The model speaks `speech` (paced), with its transcript in deltas. */
  speak(speech: Partial<LiveSpeech> = {}): void {
    const s = { ...this.server.speech, ...speech };
    this.#stop();
    const seed = ++this.server.utterances;
    const bytes = replyAudio(seed, s.audioMs * 8);
    const step = s.deltaMs * 8;
    const words = s.transcript.split(" ");
    let offset = 0;
    let word = 0;
    const speaking: { timer: ReturnType<typeof setTimeout> | undefined; sentMs: number } = {
      timer: undefined,
      sentMs: 0,
    };
    const tick = () => {
      if (this.#speaking !== speaking) return;
      if (offset >= bytes.length) {
        this.#speaking = null;
        this.#send({
          type: "session.usage.updated",
          event_id: this.#eventId(),
          usage: this.#usage(),
        });
        return;
      }
      const chunk = bytes.subarray(offset, offset + step);
      const delta = Buffer.from(chunk).toString("base64");
      offset += step;
      if (this.socket.readyState === WebSocket.OPEN) this.#outputBytes += chunk.length;
      speaking.sentMs = offset / 8;
      this.sent.push(delta);
      this.#send({ type: "session.output_audio.delta", delta });
      if (word < words.length) {
        // A word per delta; the last delta carries the words left.
        const last = offset >= bytes.length;
        const taken = last ? words.slice(word) : [words[word]];
        const text = (word > 0 ? " " : "") + taken.join(" ");
        word += taken.length;
        this.#send({
          type: "session.output_transcript.delta",
          event_id: this.#eventId(),
          delta: text,
          start_ms: offset / 8 - s.deltaMs,
          end_ms: offset / 8,
        });
      }
      speaking.timer = setTimeout(tick, s.deltaMs / s.speed);
    };
    this.#speaking = speaking;
    tick();
  }

  /** True while the model's audio is still going out. */
  get speaking(): boolean {
    return this.#speaking !== null;
  }

  /** The caller's words, as Live transcribes them; speech over the model's stops it. */
  callerSays(text: string): void {
    if (this.#speaking) {
      this.cut.push(this.#speaking.sentMs);
      this.#stop();
    }
    this.#echo.drop();
    this.#send({
      type: "session.input_transcript.delta",
      event_id: this.#eventId(),
      delta: text,
      start_ms: 0,
      end_ms: 0,
    });
  }

  /**
   * The model delegates a task to the Responses backend, which calls `calls` (the application
   * answers them); `reply` is spoken once it has.
   */
  delegate(calls: { name: string; arguments: string }[], reply: Partial<LiveSpeech> = {}): void {
    const id = `dlg_${++this.#delegations}`;
    const responseId = `resp_${this.#delegations}`;
    this.#send({
      type: "session.delegation.created",
      event_id: this.#eventId(),
      offset_ms: 0,
      delegation: { id, target: "responses", type: "delegation", response_id: responseId },
    });
    const nested = (event: Record<string, unknown>) =>
      this.#send({ type: "response.event", event_id: this.#eventId(), delegation_id: id, event });
    nested({ type: "response.created", response: { id: responseId, status: "in_progress" } });
    calls.forEach((call, i) => {
      const callId = `call_${this.#delegations}_${i}`;
      this.#pending.set(callId, call.name);
      nested({
        type: "response.output_item.done",
        output_index: i,
        sequence_number: i + 1,
        item: {
          type: "function_call",
          id: `fc_${i}`,
          call_id: callId,
          status: "completed",
          ...call,
        },
      });
    });
    nested({
      type: "response.completed",
      response: {
        id: responseId,
        status: "completed",
        usage: { input_tokens: 120, output_tokens: 30 },
      },
    });
    this.#waiting = { id, reply: { ...this.server.speech, ...reply } };
  }

  /** Ends the session from the server's side (a drop: no `session.closed`). */
  drop(code = 1011): void {
    this.#stop();
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(code, "server error");
  }

  close(): void {
    this.#stop();
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000);
  }

  /** Ends the session from the server's side, as the API does: `session.closed`, then the close. */
  end(reason: Exclude<SessionClosedEvent["reason"], "close_requested">): void {
    this.#closeWith(reason);
  }

  /** `session.closed` for `reason` with the session's final usage, then the close. */
  #closeWith(reason: SessionClosedEvent["reason"]): void {
    this.#stop();
    this.#send({
      type: "session.closed",
      event_id: this.#eventId(),
      reason,
      session: this.#resource(),
      usage: this.#usage(),
    });
    this.socket.close(1000);
  }

  /** The cumulative usage: the seconds of output audio sent, in the session's format. */
  #usage(): SessionUsage {
    return { seconds: this.#outputBytes / (this.#bytesPerMs() * 1000) };
  }

  /**
   * Bytes per ms of the session's audio format (the SDK's `AudioFormat`: PCM16 at its rate,
   * G.711 one byte a sample); µ-law at 8 kHz when `session.start` named none.
   */
  #bytesPerMs(): number {
    const format = jsonObject(jsonObject(this.config?.audio)?.format);
    const rate = typeof format?.rate === "number" ? format.rate : 8000;
    return (format?.type === "audio/pcm" ? 2 : 1) * rate / 1000;
  }

  #stop(): void {
    if (this.#speaking) clearTimeout(this.#speaking.timer);
    this.#speaking = null;
  }

  #eventId(): string {
    return `event_${++this.#seq}`;
  }

  #send(event: ServerEvent): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(event));
  }

  #error(cause: string, code: string, message: string, param: string | null = null): void {
    this.errors.push({ code, param, cause });
    this.#send({
      type: "error",
      event_id: this.#eventId(),
      error: { type: "invalid_request_error", code, message, ...(param ? { param } : {}) },
    });
  }

  #onMessage(data: unknown): void {
    if (typeof data !== "string") return this.#error("binary", "invalid_event", "binary frame");
    if (this.server.mode === "echo" && this.#started && data.startsWith(APPEND_HEAD)) {
      // The benchmark's hot path: thousands of appends a second, neither parsed nor kept.
      const audio = data.slice(APPEND_HEAD.length, -2);
      if (data.endsWith('"}') && BASE64.test(audio)) return this.#echo.push(audio);
    }
    let event: LiveClientEvent;
    try {
      event = JSON.parse(data);
    } catch {
      return this.#error("json", "invalid_json", "not JSON");
    }
    if (event.type !== "session.input_audio.append") this.events.push(event);
    if (!CLIENT_EVENTS.has(event.type)) {
      return this.#error(
        String(event.type),
        "unknown_event",
        `unknown event ${event.type}`,
        "type",
      );
    }
    if (!this.#started && event.type !== "session.start") {
      return this.#error(event.type, "session_not_started", "send session.start first");
    }
    switch (event.type) {
      case "session.start":
        return this.#start(event);
      case "session.input_audio.append": {
        const audio = event.audio;
        if (typeof audio !== "string" || !BASE64.test(audio)) {
          return this.#error(event.type, "invalid_audio", "audio must be base64", "audio");
        }
        this.audio.push(audio);
        this.events.push({ type: event.type });
        return;
      }
      case "session.commentary.append":
        if (typeof event.content !== "string" || !("delegation_id" in event)) {
          return this.#error(event.type, "missing_required_parameter", "content, delegation_id");
        }
        // Speakable context: the model says it (a greeting, a reminder).
        if (this.server.stallAnswers) return;
        return this.speak();
      case "response.item.create":
        return this.#itemCreate(event);
      case "response.create":
        return this.#continue(event);
      case "session.close":
        return this.#closeWith("close_requested");
    }
  }

  #start(event: LiveClientEvent): void {
    if (this.#started) return this.#error(event.type, "session_already_started", "started");
    const session = jsonObject(event.session);
    if (!session || typeof session.model !== "string") {
      return this.#error(event.type, "missing_required_parameter", "model", "session.model");
    }
    for (const key of Object.keys(session)) {
      if (!SESSION_KEYS.has(key)) {
        return this.#error(event.type, "unknown_parameter", `unknown ${key}`, `session.${key}`);
      }
    }
    const format = jsonObject(jsonObject(session.audio)?.format);
    if (format) {
      const ok =
        (format.type === "audio/pcm" && (format.rate === 16000 || format.rate === 24000)) ||
        ((format.type === "audio/pcmu" || format.type === "audio/pcma") &&
          typeof format.rate === "number");
      if (!ok) {
        return this.#error(event.type, "invalid_value", "audio format", "session.audio.format");
      }
    }
    const delegation = jsonObject(session.delegation);
    if (delegation) {
      const type = delegation.type;
      if (type !== "client" && type !== "responses" && type !== "decisions") {
        return this.#error(event.type, "invalid_value", "delegation", "session.delegation.type");
      }
      const responses = jsonObject(delegation.responses);
      if (type === "responses" && typeof responses?.model !== "string") {
        return this.#error(
          event.type,
          "missing_required_parameter",
          "model",
          "session.delegation.responses.model",
        );
      }
      const tools = responses?.tools ?? [];
      if (!Array.isArray(tools)) {
        return this.#error(
          event.type,
          "invalid_type",
          "tools",
          "session.delegation.responses.tools",
        );
      }
      for (const [i, tool] of tools.entries()) {
        const t = jsonObject(tool);
        if (t?.type === "function" && typeof t.name !== "string") {
          return this.#error(event.type, "missing_required_parameter", "name", `tools[${i}].name`);
        }
      }
    }
    this.config = session;
    this.#started = true;
    this.#send({
      type: "session.started",
      event_id: this.#eventId(),
      client_event_id: typeof event.event_id === "string" ? event.event_id : undefined,
      session: this.#resource(),
    });
  }

  /** The session as the server describes it: the client's configuration, with its id and state. */
  #resource(): SessionResource {
    // The configuration was checked on `session.start` (model and type among it).
    return {
      ...this.config,
      id: this.id,
      expires_at: Math.floor(Date.now() / 1000) + 3600,
      status: "active",
    } as unknown as SessionResource;
  }

  #responsesDelegation(): boolean {
    return jsonObject(this.config?.delegation)?.type === "responses";
  }

  #itemCreate(event: LiveClientEvent): void {
    if (!this.#responsesDelegation()) {
      return this.#error(event.type, "invalid_request", "requires Responses delegation");
    }
    const item = jsonObject(event.item);
    if (item?.type !== "function_call_output") return;
    const callId = String(item.call_id);
    if (!this.#pending.has(callId) || typeof item.output !== "string") {
      return this.#error(event.type, "invalid_value", `no pending call ${callId}`, "item.call_id");
    }
    this.#pending.delete(callId);
    this.#answered++;
  }

  #continue(event: LiveClientEvent): void {
    if (!this.#responsesDelegation()) {
      return this.#error(event.type, "invalid_request", "requires Responses delegation");
    }
    const waiting = this.#waiting;
    if (!waiting || this.#pending.size > 0) {
      return this.#error(event.type, "invalid_request", "no delegated response waiting for tools");
    }
    this.#waiting = null;
    const responseId = `resp_${waiting.id}_final`;
    this.#send({
      type: "response.event",
      event_id: this.#eventId(),
      delegation_id: waiting.id,
      event: {
        type: "response.completed",
        response: {
          id: responseId,
          status: "completed",
          usage: { input_tokens: 200, output_tokens: 40 },
        },
      },
    });
    this.speak(waiting.reply);
  }
}

/** The fake Live API: one {@link FakeLiveSession} per accepted socket. */
export class FakeLive {
  readonly sessions = new EventLog<FakeLiveSession>();
  /** How the model speaks unless told otherwise. */
  speech: LiveSpeech = { audioMs: 400, deltaMs: 100, speed: 1, transcript: "Hello there." };
  utterances = 0;
  /** Answer upgrades with this HTTP status instead (e.g. 401). */
  refuseStatus: number | null = null;
  /** The model goes quiet: speakable context is taken and nothing at all is sent back. */
  stallAnswers = false;
  /** `echo`: appended audio comes back as the model's output, paced (see the module doc). */
  readonly mode: "script" | "echo";
  /** In echo mode, gather appended audio into deltas of at least this many ms (0: one each). */
  echoDeltaMs = 0;
  /** In echo mode, how far ahead of real-time playout the output may be sent, in ms. */
  echoLeadMs = 40;
  /** In echo mode, how far behind its output clock late input may still go out at once, in ms. */
  echoCatchUpMs = 1000;

  constructor(speech: Partial<LiveSpeech> = {}, options: { mode?: "script" | "echo" } = {}) {
    this.speech = { ...this.speech, ...speech };
    this.mode = options.mode ?? "script";
  }

  /** Session number `index` (0 = first), waiting for it if needed. */
  session(index = 0): Promise<FakeLiveSession> {
    return this.sessions.waitFor(() => true, { what: `Live session #${index}`, from: index });
  }

  /** Answers an upgrade to `/v1/live/sessions`. */
  handle(req: Request): Response {
    const url = new URL(req.url);
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("not found", { status: 404 });
    }
    if (this.refuseStatus) return new Response("refused", { status: this.refuseStatus });
    const authorization = req.headers.get("authorization");
    if (!authorization?.startsWith("Bearer ") || authorization.length < 8) {
      return Response.json({ error: { message: "Missing bearer authentication" } }, {
        status: 401,
      });
    }
    if (url.search) {
      return Response.json({
        error: { message: "no query parameters: the model goes in session.start" },
      }, {
        status: 400,
      });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    this.sessions.push(new FakeLiveSession(socket, this));
    return response;
  }

  async close(): Promise<void> {
    for (const session of this.sessions.items) session.close();
    await Promise.all(this.sessions.items.map((s) => s.closed));
  }
}
