/**
 * Outbound call data in Deno KV, under a call reference with an expiry, so whichever instance
 * takes the call's socket finds the params the API was given.
 *
 * @module
 */

/** What `POST /api/calls` stored for a call it placed. */
export interface OutboundCall {
  reference: string;
  agent: string;
  to: string;
  params: Record<string, unknown>;
  createdAt: number;
  callSid?: string;
  /** Tags of the call's record (`scenario` for a scenario run). */
  tags?: string[];
  /**
   * A scenario run against an unsaved edit: the call runs these profile files instead of the
   * agent's live version (which stays as it is). Only an admin's simulator token can name it.
   */
  draft?: { agentJson: string; instructions: string; toolsJson: string | null };
}

const PREFIX = "outbound";
const BY_SID = "outbound_by_sid";
/** Long enough for ringing, voicemail detection and a long call's reconnects. */
export const OUTBOUND_TTL_MS = 6 * 60 * 60 * 1000;

/** Stores `call` under its reference (and, once it has one, its call SID). */
export async function saveOutbound(kv: Deno.Kv, call: OutboundCall): Promise<void> {
  let op = kv.atomic().set([PREFIX, call.reference], call, { expireIn: OUTBOUND_TTL_MS });
  if (call.callSid) {
    op = op.set([BY_SID, call.callSid], call.reference, { expireIn: OUTBOUND_TTL_MS });
  }
  await op.commit();
}

/** The stored call placed as `callSid`, or null (a status callback of an unanswered call). */
export async function findOutboundBySid(
  kv: Deno.Kv,
  callSid: string,
): Promise<OutboundCall | null> {
  const reference = (await kv.get<string>([BY_SID, callSid])).value;
  return reference ? await loadOutbound(kv, reference) : null;
}

/** The stored call for `reference`, or null (unknown or expired). */
export async function loadOutbound(kv: Deno.Kv, reference: string): Promise<OutboundCall | null> {
  const entry = await kv.get<OutboundCall>([PREFIX, reference]);
  const value = entry.value;
  if (!value) return null;
  // expireIn is best effort: enforce it on read too.
  if (Date.now() - value.createdAt > OUTBOUND_TTL_MS) return null;
  return value;
}
