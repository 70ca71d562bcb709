/**
 * What happens after a ConversationRelay session ends: the `<Connect action>` callback's TwiML.
 *
 * A hand-off dials a person, a failure reconnects once, the caller hanging up needs nothing more.
 *
 * @module
 */

import { CONNECTING, FAILED, NO_HUMAN } from "../calls/phrases.ts";
import { dialTwiml, emptyTwiml, sayAndHangUpTwiml } from "../protocols/twiml.ts";

/** Hand-off data the session passes in `end`, as the action callback receives it. */
export interface HandoffData {
  reason: string;
  number?: string;
  [key: string]: unknown;
}

/** Parses `HandoffData` (stringified JSON; anything else becomes the reason). */
export function parseHandoffData(raw: string | undefined): HandoffData | null {
  if (!raw) return null;
  try {
    const data = JSON.parse(raw);
    if (data && typeof data === "object" && !Array.isArray(data)) {
      return { ...data, reason: typeof data.reason === "string" ? data.reason : "unknown" };
    }
  } catch {
    // not JSON: keep the text as the reason
  }
  return { reason: raw };
}

/** Reasons for which the caller is put through to a person when a number is known. */
const DIAL_REASONS = new Set(["live-agent-handoff", "llm-unavailable"]);

/** Options of {@link relayActionTwiml}. */
export interface RelayActionOptions {
  handoffNumber: string | null;
  /** TwiML that reconnects the caller to a new relay session, or null when retried already. */
  reconnectTwiml: string | null;
}

/**
 * The TwiML answering the action callback for the posted `params`.
 *
 * Twilio documents `SessionStatus` by example only (`ended`, `completed`, `failed`), so what the
 * callback carries decides: `HandoffData` present means the session handed off (the app sent
 * `end`), `ErrorCode` present means it failed, whatever `SessionStatus` says.
 */
export function relayActionTwiml(
  params: Record<string, string>,
  options: RelayActionOptions,
): { twiml: string; outcome: string } {
  const status = params.SessionStatus ?? "";
  const handoff = parseHandoffData(params.HandoffData);
  if (handoff) {
    if (DIAL_REASONS.has(handoff.reason)) {
      const number = handoff.number ?? options.handoffNumber;
      if (number) {
        return { twiml: dialTwiml(number, CONNECTING), outcome: "handoff" };
      }
      return { twiml: sayAndHangUpTwiml(NO_HUMAN), outcome: "handoff-unavailable" };
    }
    return { twiml: emptyTwiml(), outcome: handoff.reason };
  }
  if (params.ErrorCode || status === "failed") {
    if (options.reconnectTwiml) return { twiml: options.reconnectTwiml, outcome: "reconnect" };
    if (options.handoffNumber) {
      return {
        twiml: dialTwiml(options.handoffNumber, FAILED.split(".")[0] + "."),
        outcome: "handoff",
      };
    }
    return { twiml: sayAndHangUpTwiml(FAILED), outcome: "failed" };
  }
  return { twiml: emptyTwiml(), outcome: status || "completed" };
}
