/**
 * A fake of OpenAI's SIP calls, as the `openai` SDK types them: the project webhook's incoming
 * call events (`live.transport.incoming`, `realtime.call.incoming`), delivered signed the
 * Standard Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
 * HMAC-SHA256 of id.timestamp.body>` keyed by the base64 part of `whsec_…`), and the REST calls
 * on a pending or live call — accept, reject, hangup and refer, on `/v1/live/sessions/{id}/…`
 * and `/v1/realtime/calls/{id}/…`. It refuses what the real API refuses: no bearer key, an
 * unknown id, a second accept of a call (the first accept picks the surface), a Live accept
 * without `session.type: "live"` or with an `audio.format` (SIP negotiates it), a Realtime one
 * without `type: "realtime"`, a reject status outside 300–699, a refer with no `target_uri`; on
 * a Realtime sideband, a `response.create` while a response is in progress; a Live sideband's
 * `transport.dtmf.send` of anything but one key (and any on Realtime, which has no such command).
 */

import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import type {
  LiveTransportIncomingWebhookEvent,
  RealtimeCallIncomingWebhookEvent,
} from "openai/resources/webhooks/webhooks";
import type { ServerEvent as LiveServer } from "openai/resources/live/live";
import type { InputAudioBufferDtmfEventReceivedEvent } from "openai/resources/realtime/realtime";
import { jsonObject } from "../../lib/protocols/json_fields.ts";
import { EventLog } from "./event_log.ts";

/** A test webhook secret (`whsec_` and base64). */
export const TEST_WEBHOOK_SECRET = `whsec_${
  Buffer.from("callbridge-test-secret").toString("base64")
}`;

/**
 * A Live session's ID. The SDK's webhook types (openai 7.55.0, `resources/webhooks/webhooks.d.ts`,
 * `live.transport.incoming`) call its `session_id` "the `live_...` ID of the pending SIP session"
 * (the same call's `realtime.call.incoming` has an `rtc_...` ID), and the
 * `GET /v1/live/sessions/{session_id}/content` reference (as mirrored at w3cschool.cn, 2026-11-10)
 * says it "must match" this pattern.
 */
const LIVE_SESSION_ID = /^live_[A-Za-z0-9_-]{1,128}$/;

/** One REST call the service made. */
export interface SipRequest {
  surface: "live" | "realtime";
  id: string;
  action: "accept" | "reject" | "hangup" | "refer";
  body: Record<string, unknown>;
  status: number;
}

/** One pending SIP call: its id on each surface. */
interface PendingCall {
  liveId: string;
  realtimeId: string;
  /** The surface whose accept picked it, once accepted. */
  taken: "live" | "realtime" | null;
  ended: boolean;
  /** Live: accepted with `session.store: true`, so its content can be downloaded. */
  stored: boolean;
  /** Realtime: accepted with `audio.input.transcription` (off by default, as on Realtime). */
  transcribed: boolean;
}

/** One sideband socket of an accepted call (Live `…/attach` or Realtime `?call_id=`). */
export class FakeSideband {
  readonly events = new EventLog<Record<string, unknown> & { type: string }>();
  /** The error codes this sideband answered client events with, in order. */
  readonly refused: string[] = [];
  readonly closed: Promise<void>;
  #seq = 0;
  #calls = 0;
  #responses = 0;
  /**
   * Realtime: the response in progress, as this sideband told it (from its `response.created`
   * to its `response.done`); the real API runs one at a time.
   */
  #active: string | null = null;

  constructor(
    private readonly socket: WebSocket,
    readonly surface: "live" | "realtime",
    readonly id: string,
    /** Realtime: the caller's audio is transcribed (the accept asked for it). */
    readonly transcribed = false,
  ) {
    this.closed = new Promise((resolve) => socket.addEventListener("close", () => resolve()));
    socket.addEventListener("message", (ev) => {
      const event = JSON.parse(String(ev.data));
      this.events.push(event);
      // A sideband cannot start a session or carry the caller's audio.
      if (
        event.type === "session.start" || event.type === "session.input_audio.append" ||
        event.type === "input_audio_buffer.append"
      ) {
        return this.#refuse("not_on_sideband", event.type);
      }
      if (event.type === "transport.dtmf.send") this.#onDtmfSend(event);
      else if (surface === "realtime") this.#onRealtime(event);
    });
  }

  /**
   * Live's `transport.dtmf.send` (the SDK's `ConnectClientEvent.TransportDtmfSend`): one key,
   * 0-9, A-D, `*` or `#`, confirmed with `transport.dtmf.sent` (its `event_id` as
   * `client_event_id`); a bad key is refused. Realtime's sideband has no such command.
   */
  #onDtmfSend(event: Record<string, unknown>): void {
    const clientId = typeof event.event_id === "string" ? event.event_id : undefined;
    if (this.surface !== "live") {
      return this.#refuse("invalid_value", `Invalid value: '${event.type}'.`, clientId);
    }
    if (typeof event.event !== "string" || !/^[0-9A-D*#]$/.test(event.event)) {
      return this.#refuse("invalid_value", "event must be one of 0-9, A-D, * or #", clientId);
    }
    this.send(
      {
        type: "transport.dtmf.sent",
        event_id: this.#id(),
        event: event.event,
        ...(clientId ? { client_event_id: clientId } : {}),
      } satisfies LiveServer.TransportDtmfSent,
    );
  }

  /**
   * Realtime's one response at a time, as fake_realtime_session.ts has it: a `response.create`
   * during one is refused, else answered at once (created and done, saying nothing); a
   * `response.cancel` ends the one in progress (done, `cancelled`), or is refused.
   */
  #onRealtime(event: { type: string }): void {
    if (event.type === "response.create") {
      if (this.#active !== null) {
        return this.#refuse(
          "conversation_already_has_active_response",
          "Conversation already has an active response in progress.",
        );
      }
      const id = this.serverResponds();
      this.#done(id, "completed");
    } else if (event.type === "response.cancel") {
      if (this.#active === null) {
        return this.#refuse(
          "response_cancel_not_active",
          "Cancellation failed: no active response found",
        );
      }
      this.#done(this.#active, "cancelled");
    }
  }

  /** An `error` event answering a client event, its code kept in {@link refused}. */
  #refuse(code: string, message: string, clientEventId?: string): void {
    this.refused.push(code);
    const client = clientEventId ? { client_event_id: clientEventId } : {};
    this.send({
      type: "error",
      event_id: this.#id(),
      error: { type: "invalid_request_error", code, message, ...client },
      ...client,
    });
  }

  /**
   * Realtime: a response begins (`response.created`), left in progress, as the server's VAD
   * starts one when the caller stops speaking; its id.
   */
  serverResponds(): string {
    const id = `resp_sb_r${++this.#responses}`;
    this.send({
      type: "response.created",
      event_id: this.#id(),
      response: { id, object: "realtime.response", status: "in_progress", output: [] },
    });
    return id;
  }

  #done(id: string, status: string): void {
    this.send({
      type: "response.done",
      event_id: this.#id(),
      response: { id, object: "realtime.response", status, output: [] },
    });
  }

  /** Client events of `type` received. */
  of(type: string): Record<string, unknown>[] {
    return this.events.filter((e) => e.type === type);
  }

  /** Sends `event` (once the socket is open, if it is still opening). */
  send(event: Record<string, unknown>): void {
    // The response in progress follows what is sent.
    const response = jsonObject(event.response);
    if (event.type === "response.created") this.#active = String(response?.id);
    if (event.type === "response.done" && this.#active === response?.id) this.#active = null;
    const text = JSON.stringify(event);
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(text);
    else if (this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.addEventListener("open", () => this.socket.send(text), { once: true });
    }
  }

  #id(): string {
    return `event_sb_${++this.#seq}`;
  }

  /**
   * The caller's words, as the surface reports them (Realtime: its transcript only when the
   * accept turned transcription on; Realtime's `audio.input.transcription` defaults to null).
   */
  callerSays(text: string): void {
    if (this.surface === "live") {
      this.send({
        type: "session.input_transcript.delta",
        event_id: this.#id(),
        delta: text,
        start_ms: 0,
        end_ms: 0,
      });
    } else {
      this.send({
        type: "input_audio_buffer.speech_stopped",
        event_id: this.#id(),
        item_id: "i1",
        audio_end_ms: 0,
      });
      if (!this.transcribed) return;
      this.send({
        type: "conversation.item.input_audio_transcription.completed",
        event_id: this.#id(),
        item_id: "i1",
        content_index: 0,
        transcript: text,
      });
    }
  }

  /** The agent says `text` (a reflected audio delta, then its transcript). */
  agentSays(text: string): void {
    if (this.surface === "live") {
      this.send({ type: "session.output_audio.delta", delta: "AAAA", start_ms: 0, end_ms: 20 });
      this.send({
        type: "session.output_transcript.delta",
        event_id: this.#id(),
        delta: text,
        start_ms: 0,
        end_ms: 20,
      });
    } else {
      const ids = {
        response_id: "resp_say",
        item_id: "item_say",
        output_index: 0,
        content_index: 0,
      };
      this.send({
        type: "response.output_audio.delta",
        event_id: this.#id(),
        ...ids,
        delta: "AAAA",
      });
      this.send({
        type: "response.output_audio_transcript.done",
        event_id: this.#id(),
        ...ids,
        transcript: text,
      });
    }
  }

  /**
   * The caller presses `key`: told only to the sideband, as the SDK's types say (Live's
   * `TransportDtmfReceived`, Realtime's `InputAudioBufferDtmfEventReceivedEvent`, SIP only).
   */
  press(key: string): void {
    if (this.surface === "live") {
      this.send(
        {
          type: "transport.dtmf.received",
          event_id: this.#id(),
          event: key,
        } satisfies LiveServer.TransportDtmfReceived,
      );
    } else {
      this.send(
        {
          event: key,
          received_at: Math.floor(Date.now() / 1000),
          type: "input_audio_buffer.dtmf_event_received",
        } satisfies InputAudioBufferDtmfEventReceivedEvent,
      );
    }
  }

  /** The model calls `name(args)`: nested in a delegation (Live) or in a response (Realtime). */
  call(name: string, args: string): void {
    const n = ++this.#calls;
    const callId = `call_sb_${n}`;
    if (this.surface === "live") {
      const delegation_id = `dlg_sb_${n}`;
      this.send({
        type: "session.delegation.created",
        event_id: this.#id(),
        offset_ms: 0,
        delegation: { id: delegation_id, target: "responses", type: "delegation" },
      });
      for (
        const event of [
          {
            type: "response.output_item.done",
            output_index: 0,
            item: { type: "function_call", call_id: callId, name, arguments: args },
          },
          {
            type: "response.completed",
            response: {
              id: `resp_sb_${n}`,
              status: "completed",
              usage: { input_tokens: 10, output_tokens: 5 },
            },
          },
        ]
      ) this.send({ type: "response.event", event_id: this.#id(), delegation_id, event });
    } else {
      const response_id = `resp_sb_${n}`;
      this.send({
        type: "response.created",
        event_id: this.#id(),
        response: { id: response_id, status: "in_progress" },
      });
      this.send({
        type: "response.function_call_arguments.done",
        event_id: this.#id(),
        response_id,
        item_id: `fc_${n}`,
        output_index: 0,
        call_id: callId,
        name,
        arguments: args,
      });
      this.send({
        type: "response.done",
        event_id: this.#id(),
        response: {
          id: response_id,
          status: "completed",
          usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
        },
      });
    }
  }

  /** The call is over on OpenAI's side: Live says so first; both close the socket. */
  end(reason = "close_requested"): void {
    if (this.surface === "live") {
      this.send({
        type: "session.closed",
        event_id: this.#id(),
        reason,
        session: { id: this.id, status: "active" },
        usage: { seconds: 7 },
      });
    }
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000);
  }

  /** The socket drops (no goodbye). */
  drop(): void {
    const drop = () => this.socket.close(1011, "dropped");
    if (this.socket.readyState === WebSocket.OPEN) drop();
    else if (this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.addEventListener("open", drop, { once: true });
    }
  }
}

/** The Standard Webhooks headers for `body`, signed with `secret`. */
export function signWebhook(
  body: string,
  secret: string,
  options: { id?: string; timestamp?: number } = {},
): Record<string, string> {
  const id = options.id ?? `wh_${crypto.randomUUID().replaceAll("-", "")}`;
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${signature}`,
  };
}

/** The fake SIP side of the OpenAI API. */
export class FakeSip {
  readonly requests = new EventLog<SipRequest>();
  readonly sidebands = new EventLog<FakeSideband>();
  /** Refuse sideband upgrades with this status (e.g. 500), when set. */
  refuseSidebands: number | null = null;
  /** Answer every accept with this status (a server error, say), when set. */
  failAccepts: number | null = null;
  readonly #calls: PendingCall[] = [];
  #count = 0;

  /** A new incoming call with `headers`: its two webhook events (one per surface). */
  incoming(headers: Record<string, string>): {
    live: LiveTransportIncomingWebhookEvent;
    realtime: RealtimeCallIncomingWebhookEvent;
  } {
    const n = ++this.#count;
    const call: PendingCall = {
      liveId: `live_sip${n}`,
      realtimeId: `rtc_sip${n}`,
      taken: null,
      ended: false,
      stored: false,
      transcribed: false,
    };
    this.#calls.push(call);
    const sip_headers = [
      { name: "From", value: "<sip:+15550100123@pstn.twilio.com>" },
      ...Object.entries(headers).map(([name, value]) => ({ name, value })),
    ];
    const created_at = Math.floor(Date.now() / 1000);
    return {
      live: {
        id: `evt_live_${n}`,
        object: "event",
        created_at,
        type: "live.transport.incoming",
        data: { type: "sip", session_id: call.liveId, sip_headers },
      },
      realtime: {
        id: `evt_rtc_${n}`,
        object: "event",
        created_at,
        type: "realtime.call.incoming",
        data: { call_id: call.realtimeId, sip_headers },
      },
    };
  }

  /** Answers a sideband upgrade of an accepted call (null: not a sideband URL). */
  upgrade(req: Request): Response | null {
    const url = new URL(req.url);
    const live = url.pathname.match(/^\/v1\/live\/sessions\/([^/]+)\/attach$/);
    const callId = url.pathname === "/v1/realtime" ? url.searchParams.get("call_id") : null;
    if (!live && !callId) return null;
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return null;
    if (!req.headers.get("authorization")?.startsWith("Bearer ")) {
      return new Response("no key", { status: 401 });
    }
    if (this.refuseSidebands) return new Response("refused", { status: this.refuseSidebands });
    const surface = live ? "live" : "realtime";
    const id = live ? decodeURIComponent(live[1]) : callId!;
    const call = this.#calls.find((c) => (surface === "live" ? c.liveId : c.realtimeId) === id);
    if (!call || call.taken !== surface || call.ended) {
      return new Response("no such call", { status: 404 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    this.sidebands.push(new FakeSideband(socket, surface, id, call.transcribed));
    return response;
  }

  /** The open sideband of call `id` (the newest), waiting for it. */
  sideband(id: string, from = 0): Promise<FakeSideband> {
    return this.sidebands.waitFor((s) => s.id === id, { what: `the sideband of ${id}`, from });
  }

  /** Closes every sideband. */
  async close(): Promise<void> {
    for (const s of this.sidebands.items) s.end();
    await Promise.all(this.sidebands.items.map((s) => s.closed));
  }

  /** Requests of `action` (on either surface). */
  of(action: SipRequest["action"]): SipRequest[] {
    return this.requests.filter((r) => r.action === action);
  }

  /** Answers `/v1/live/sessions/{id}/{action}` and `/v1/realtime/calls/{id}/{action}`. */
  async handle(req: Request): Promise<Response | null> {
    const url = new URL(req.url);
    const content = url.pathname.match(/^\/v1\/live\/sessions\/([^/]+)\/content$/);
    if (content && req.method === "GET") return this.#content(req, decodeURIComponent(content[1]));
    const match = url.pathname.match(
      /^\/v1\/(live\/sessions|realtime\/calls)\/([^/]+)\/(accept|reject|hangup|refer)$/,
    );
    if (!match || req.method !== "POST") return null;
    const surface = match[1] === "live/sessions" ? "live" : "realtime";
    const id = decodeURIComponent(match[2]);
    const action = match[3] as SipRequest["action"];
    const text = await req.text();
    const body = jsonObject(text ? JSON.parse(text) : {}) ?? {};
    const answer = (status: number, message?: string) => {
      this.requests.push({ surface, id, action, body, status });
      return message
        ? Response.json({ error: { message, type: "invalid_request_error" } }, { status })
        : new Response(null, { status });
    };
    if (!req.headers.get("authorization")?.startsWith("Bearer ")) return answer(401, "no key");
    const call = this.#calls.find((c) => (surface === "live" ? c.liveId : c.realtimeId) === id);
    if (!call || call.ended) return answer(404, `no call ${id}`);
    switch (action) {
      case "accept": {
        if (this.failAccepts) return answer(this.failAccepts, "The server had an error");
        if (call.taken) return answer(409, "the call was already accepted");
        const problem = surface === "live" ? liveAcceptProblem(body) : realtimeAcceptProblem(body);
        if (problem) return answer(400, problem);
        call.taken = surface;
        call.stored = surface === "live" && jsonObject(body.session)?.store === true;
        const input = jsonObject(jsonObject(body.audio)?.input);
        call.transcribed = surface === "realtime" && !!jsonObject(input?.transcription)?.model;
        return answer(200);
      }
      case "reject": {
        if (call.taken) return answer(409, "an accepted call cannot be rejected");
        const code = body.status_code;
        if (surface === "live" && code === undefined) return answer(400, "status_code required");
        if (code !== undefined && (typeof code !== "number" || code < 300 || code > 699)) {
          return answer(400, "status_code must be from 300 to 699");
        }
        call.ended = true;
        return answer(200);
      }
      case "hangup":
        if (call.taken !== surface) return answer(409, "not an accepted call on this surface");
        call.ended = true;
        this.#endSidebands(id);
        return answer(200);
      case "refer":
        if (call.taken !== surface) return answer(409, "not an accepted call on this surface");
        if (typeof body.target_uri !== "string" || !body.target_uri.trim()) {
          return answer(400, "target_uri required");
        }
        call.ended = true;
        this.#endSidebands(id);
        return answer(200);
    }
  }

  /** The bytes `downloadRecording` gets for a Live session (what a test compares). */
  static recordingOf(sessionId: string): Uint8Array<ArrayBuffer> {
    return new TextEncoder().encode(`recording of ${sessionId}`);
  }

  /** `GET /v1/live/sessions/{id}/content` (`downloadRecording`): only of a stored, ended session. */
  #content(req: Request, id: string): Response {
    const error = (status: number, message: string) =>
      Response.json({ error: { message, type: "invalid_request_error" } }, { status });
    if (!req.headers.get("authorization")?.startsWith("Bearer ")) return error(401, "no key");
    // The API reference's pattern of a stored Live session's ID.
    if (!LIVE_SESSION_ID.test(id)) return error(400, `session_id must match ${LIVE_SESSION_ID}`);
    const call = this.#calls.find((c) => c.liveId === id && c.taken === "live");
    if (!call) return error(404, `no session ${id}`);
    if (!call.stored) return error(404, `session ${id} was not stored`);
    return new Response(FakeSip.recordingOf(id), {
      headers: { "content-type": "application/octet-stream" },
    });
  }

  #endSidebands(id: string): void {
    for (const s of this.sidebands.items) if (s.id === id) s.end();
  }
}

const LIVE_SESSION_KEYS = new Set([
  "type",
  "model",
  "audio",
  "delegation",
  "input",
  "instructions",
  "store",
  "triggers",
]);

function liveAcceptProblem(body: Record<string, unknown>): string | null {
  const session = jsonObject(body.session);
  if (!session) return "session required";
  if (session.type !== "live") return "session.type must be live";
  if (typeof session.model !== "string") return "session.model required";
  for (const key of Object.keys(session)) {
    if (!LIVE_SESSION_KEYS.has(key)) return `unknown parameter session.${key}`;
  }
  if (jsonObject(session.audio)?.format) return "SIP negotiates the audio format";
  return null;
}

function realtimeAcceptProblem(body: Record<string, unknown>): string | null {
  if (body.type !== "realtime") return "type must be realtime";
  if (jsonObject(jsonObject(body.audio)?.input)?.format) return "SIP negotiates the audio format";
  return null;
}
