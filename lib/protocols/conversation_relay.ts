/**
 * Twilio ConversationRelay wire protocol: the messages Twilio sends (parsed and validated here,
 * once) and the messages the service sends back.
 *
 * @module
 */

import { CALL_SID, callParameters, parseJsonFrame } from "./json_fields.ts";
import type { ParseResult } from "./parse_result.ts";

/** `setup`: always the first message of a session. */
export interface SetupMessage {
  type: "setup";
  sessionId: string;
  callSid: string;
  accountSid: string;
  from: string;
  to: string;
  direction: string;
  callType: string;
  callStatus: string;
  parentCallSid: string;
  forwardedFrom: string;
  callerName: string;
  customParameters: Record<string, string>;
}

/** `prompt`: what the caller said; with partial prompts, `last:false` ones are cumulative drafts. */
export interface PromptMessage {
  type: "prompt";
  voicePrompt: string;
  lang: string;
  last: boolean;
}

/** `dtmf`: one key press. */
export interface DtmfMessage {
  type: "dtmf";
  digit: string;
}

/** `interrupt`: the caller barged in; `utteranceUntilInterrupt` is what they heard. */
export interface InterruptMessage {
  type: "interrupt";
  utteranceUntilInterrupt: string;
  durationUntilInterruptMs: number;
}

/** `info`: debug events (only with `debug` enabled in TwiML). */
export interface InfoMessage {
  type: "info";
  data: Record<string, unknown>;
}

/** `error`: Twilio reports a problem, e.g. an invalid message we sent. */
export interface ErrorMessage {
  type: "error";
  description: string;
}

/** Every message Twilio sends over the ConversationRelay socket. */
export type RelayInbound =
  | SetupMessage
  | PromptMessage
  | DtmfMessage
  | InterruptMessage
  | InfoMessage
  | ErrorMessage;

/** A text token (the turn closes with `last:true`). */
export interface TextOutbound {
  type: "text";
  token: string;
  last: boolean;
  lang?: string;
  interruptible?: boolean;
  preemptible?: boolean;
}

/** Every message the service sends over the ConversationRelay socket. */
export type RelayOutbound =
  | TextOutbound
  | {
    type: "play";
    source: string;
    loop?: number;
    preemptible?: boolean;
    interruptible?: boolean;
  }
  | { type: "sendDigits"; digits: string }
  | { type: "language"; ttsLanguage?: string; transcriptionLanguage?: string }
  | { type: "end"; handoffData?: string };

type Json = Record<string, unknown>;

/** The setup fields that are free text, and how long each may be. */
const SETUP_FIELDS = [
  "sessionId",
  "accountSid",
  "from",
  "to",
  "direction",
  "callType",
  "callStatus",
  "parentCallSid",
  "forwardedFrom",
  "callerName",
] as const;
const MAX_SETUP_FIELD_CHARS = 128;

function str(obj: Json, key: string, fallback?: string): string | undefined {
  const v = obj[key];
  if (typeof v === "string") return v;
  if (v === undefined || v === null) return fallback;
  return undefined;
}

/** Parses and validates one text frame from Twilio. Never throws. */
export function parseRelayMessage(data: unknown): ParseResult<RelayInbound> {
  const frame = parseJsonFrame(data);
  if (!frame.ok) return frame;
  const m = frame.value;
  switch (m.type) {
    case "setup": {
      const callSid = str(m, "callSid");
      const sessionId = str(m, "sessionId", "");
      if (!callSid) return { ok: false, error: "setup without callSid" };
      if (!CALL_SID.test(callSid)) return { ok: false, error: "setup with a malformed callSid" };
      const long = SETUP_FIELDS.find((f) => (str(m, f) ?? "").length > MAX_SETUP_FIELD_CHARS);
      if (long) return { ok: false, error: `setup with an over-long ${long}` };
      const parameters = callParameters(m.customParameters);
      if (!parameters.ok) return { ok: false, error: `setup with ${parameters.error}` };
      return {
        ok: true,
        message: {
          type: "setup",
          sessionId: sessionId ?? "",
          callSid,
          accountSid: str(m, "accountSid", "") ?? "",
          from: str(m, "from", "") ?? "",
          to: str(m, "to", "") ?? "",
          direction: str(m, "direction", "") ?? "",
          callType: str(m, "callType", "") ?? "",
          callStatus: str(m, "callStatus", "") ?? "",
          parentCallSid: str(m, "parentCallSid", "") ?? "",
          forwardedFrom: str(m, "forwardedFrom", "") ?? "",
          callerName: str(m, "callerName", "") ?? "",
          customParameters: parameters.value,
        },
      };
    }
    case "prompt": {
      const voicePrompt = str(m, "voicePrompt");
      if (voicePrompt === undefined) return { ok: false, error: "prompt without voicePrompt" };
      return {
        ok: true,
        message: {
          type: "prompt",
          voicePrompt,
          lang: str(m, "lang", "") ?? "",
          // Twilio omits `last` unless partial prompts are on: absent means final.
          last: m.last === undefined ? true : m.last === true || m.last === "true",
        },
      };
    }
    case "dtmf": {
      const digit = str(m, "digit");
      if (!digit || !/^[0-9*#A-Da-dw]$/.test(digit)) {
        return { ok: false, error: "dtmf without a valid digit" };
      }
      return { ok: true, message: { type: "dtmf", digit } };
    }
    case "interrupt": {
      const utterance = str(m, "utteranceUntilInterrupt", "");
      if (utterance === undefined) {
        return { ok: false, error: "interrupt with a non-string utteranceUntilInterrupt" };
      }
      // Seen as a number and as a string on live calls.
      const duration = Number(m.durationUntilInterruptMs ?? 0);
      return {
        ok: true,
        message: {
          type: "interrupt",
          utteranceUntilInterrupt: utterance,
          durationUntilInterruptMs: Number.isFinite(duration) ? duration : 0,
        },
      };
    }
    case "info":
      return { ok: true, message: { type: "info", data: m } };
    case "error":
      return {
        ok: true,
        message: { type: "error", description: str(m, "description", "") ?? "" },
      };
    default:
      return {
        ok: false,
        error: typeof m.type === "string" ? `unknown type "${m.type.slice(0, 40)}"` : "no type",
      };
  }
}

/** `digits` for `sendDigits` allows only 0-9, w, # and *. */
export function isValidDigits(digits: string): boolean {
  return /^[0-9w#*]+$/.test(digits);
}
