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
}

const PREFIX = "outbound";
/** Long enough for ringing, voicemail detection and a long call's reconnects. */
export const OUTBOUND_TTL_MS = 6 * 60 * 60 * 1000;

/** Stores `call` under its reference. */
export async function saveOutbound(kv: Deno.Kv, call: OutboundCall): Promise<void> {
  await kv.set([PREFIX, call.reference], call, { expireIn: OUTBOUND_TTL_MS });
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
