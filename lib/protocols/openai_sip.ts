/**
 * OpenAI SIP calls: the custom SIP headers the voice webhook's `<Dial><Sip>` sends (they come
 * back in the project webhook's `sip_headers`), what an incoming-call webhook event means, and
 * the accept bodies of both surfaces — GPT-Live (`client.live.sessions.accept`, session
 * `type: "live"`) and Realtime (`client.realtime.calls.accept`, `type: "realtime"`) — checked
 * against the `openai` SDK's types (`satisfies`). SIP negotiates the media format, so neither
 * names one.
 *
 * @module
 */

import type { SessionAcceptParams } from "openai/resources/live/sessions";
import type { CallAcceptParams } from "openai/resources/realtime/calls";
import type { UnwrapWebhookEvent } from "openai/resources/webhooks/webhooks";
import type { FunctionDeclaration } from "./openai_realtime.ts";
import { responsesDelegation } from "./openai_live.ts";

/** The custom SIP headers of a call, by what they carry. */
export const SIP_HEADERS = {
  agent: "X-Callbridge-Agent",
  callSid: "X-Callbridge-Call-Sid",
  from: "X-Callbridge-From",
  to: "X-Callbridge-To",
  direction: "X-Callbridge-Direction",
  token: "X-Callbridge-Token",
  /** An outbound call's reference (its token covers it). */
  reference: "X-Callbridge-Reference",
} as const;

/** What the service sent in a call's SIP headers (caller-supplied metadata: not authorization). */
export type SipCallData = { -readonly [K in keyof typeof SIP_HEADERS]: string };

/** An incoming SIP call on one surface, or any other event. */
export type SipWebhookEvent =
  | { kind: "incoming"; surface: "live" | "realtime"; id: string; data: SipCallData }
  | { kind: "other"; type: string };

/**
 * Our headers out of `sip_headers` (names compared without case, as SIP does). A call without
 * them (from an Elastic SIP Trunk) still has the INVITE's own `From` and `To`: their numbers
 * are the caller's and the dialled one.
 */
export function sipCallData(headers: readonly { name: string; value: string }[]): SipCallData {
  const header = (name: string) =>
    headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
  const data = {} as SipCallData;
  for (const [key, name] of Object.entries(SIP_HEADERS) as [keyof SipCallData, string][]) {
    const value = header(name);
    data[key] = value === undefined ? "" : safeDecode(value);
  }
  data.from ||= sipHeaderNumber(header("From") ?? "");
  data.to ||= sipHeaderNumber(header("To") ?? "");
  return data;
}

/**
 * The phone number of a `From`/`To` header (`"Ann" <sip:+15550100123@host>;tag=1` →
 * `+15550100123`; a `tel:` URI too), or "" when its user part is not a number (`anonymous`).
 */
export function sipHeaderNumber(value: string): string {
  const uri = value.match(/<([^>]*)>/)?.[1] ?? value.split(";")[0];
  const user = uri.trim().match(/^(?:sips?:([^@;?]*)@|tel:([^;?]*))/i);
  const number = safeDecode(user?.[1] ?? user?.[2] ?? "").replace(/[-.() ]/g, "");
  return /^\+?\d{3,15}$/.test(number) ? number : "";
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** What a verified webhook event means for SIP calls. */
export function sipWebhookEvent(event: UnwrapWebhookEvent): SipWebhookEvent {
  switch (event.type) {
    case "live.transport.incoming":
    case "live.call.incoming": // the deprecated name of the same event
      return {
        kind: "incoming",
        surface: "live",
        id: event.data.session_id,
        data: sipCallData(event.data.sip_headers ?? []),
      };
    case "realtime.call.incoming":
      return {
        kind: "incoming",
        surface: "realtime",
        id: event.data.call_id,
        data: sipCallData(event.data.sip_headers ?? []),
      };
    default:
      return { kind: "other", type: event.type };
  }
}

/** What an accepted SIP call's session is made of (the agent's). */
export interface SipSessionOptions {
  model: string;
  voice: string;
  instructions: string;
  tools: readonly FunctionDeclaration[];
  /** Live: the Responses model delegated tools run on. */
  delegationModel: string;
  /** Live: OpenAI keeps the session, so its recording can be downloaded (`record: true`). */
  store?: boolean;
  /** Realtime: the caller's transcription model ("" or absent = none; Realtime's default). */
  transcriptionModel?: string;
}

/** The body of `client.live.sessions.accept`: the agent's session, tools by delegation. */
export function liveAccept(options: SipSessionOptions): SessionAcceptParams {
  return {
    session: {
      type: "live",
      model: options.model,
      instructions: options.instructions,
      audio: { output: { voice: options.voice } },
      ...(options.store ? { store: true } : {}),
      delegation: responsesDelegation(options),
    },
  } satisfies SessionAcceptParams;
}

/** The body of `client.realtime.calls.accept`: the agent's session and tools. */
export function realtimeAccept(options: SipSessionOptions): CallAcceptParams {
  return {
    type: "realtime",
    model: options.model,
    instructions: options.instructions,
    audio: {
      ...(options.transcriptionModel
        ? { input: { transcription: { model: options.transcriptionModel } } }
        : {}),
      output: { voice: options.voice },
    },
    ...(options.tools.length
      ? {
        tools: options.tools.map((t) => ({ type: "function" as const, ...t })),
        tool_choice: "auto" as const,
      }
      : {}),
  } satisfies CallAcceptParams;
}
