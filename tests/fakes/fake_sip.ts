/**
 * A fake of OpenAI's SIP calls, as the `openai` SDK types them: the project webhook's incoming
 * call events (`live.transport.incoming`, `realtime.call.incoming`), delivered signed the
 * Standard Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
 * HMAC-SHA256 of id.timestamp.body>` keyed by the base64 part of `whsec_…`), and the REST calls
 * on a pending or live call — accept, reject, hangup and refer, on `/v1/live/sessions/{id}/…`
 * and `/v1/realtime/calls/{id}/…`. It refuses what the real API refuses: no bearer key, an
 * unknown id, a second accept of a call (the first accept picks the surface), a Live accept
 * without `session.type: "live"` or with an `audio.format` (SIP negotiates it), a Realtime one
 * without `type: "realtime"`, a reject status outside 300–699, a refer with no `target_uri`.
 */

import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import type {
  LiveTransportIncomingWebhookEvent,
  RealtimeCallIncomingWebhookEvent,
} from "openai/resources/webhooks/webhooks";
import { jsonObject } from "../../lib/protocols/json_fields.ts";
import { EventLog } from "./event_log.ts";

/** A test webhook secret (`whsec_` and base64). */
export const TEST_WEBHOOK_SECRET = `whsec_${
  Buffer.from("callbridge-test-secret").toString("base64")
}`;

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
  readonly #calls: PendingCall[] = [];
  #count = 0;

  /** A new incoming call with `headers`: its two webhook events (one per surface). */
  incoming(headers: Record<string, string>): {
    live: LiveTransportIncomingWebhookEvent;
    realtime: RealtimeCallIncomingWebhookEvent;
  } {
    const n = ++this.#count;
    const call: PendingCall = {
      liveId: `sess_sip${n}`,
      realtimeId: `rtc_sip${n}`,
      taken: null,
      ended: false,
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

  /** Requests of `action` (on either surface). */
  of(action: SipRequest["action"]): SipRequest[] {
    return this.requests.filter((r) => r.action === action);
  }

  /** Answers `/v1/live/sessions/{id}/{action}` and `/v1/realtime/calls/{id}/{action}`. */
  async handle(req: Request): Promise<Response | null> {
    const url = new URL(req.url);
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
        if (call.taken) return answer(409, "the call was already accepted");
        const problem = surface === "live" ? liveAcceptProblem(body) : realtimeAcceptProblem(body);
        if (problem) return answer(400, problem);
        call.taken = surface;
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
        return answer(200);
      case "refer":
        if (call.taken !== surface) return answer(409, "not an accepted call on this surface");
        if (typeof body.target_uri !== "string" || !body.target_uri.trim()) {
          return answer(400, "target_uri required");
        }
        call.ended = true;
        return answer(200);
    }
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
