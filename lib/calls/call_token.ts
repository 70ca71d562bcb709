/**
 * Per-call tokens that authenticate a call's socket beyond Twilio's signature.
 *
 * The signature on a WebSocket upgrade covers only the URL, so it is the same for every call to
 * that URL: one captured signature would open any number of sockets. So the TwiML that connects
 * a call also carries `<Parameter name="token">`, an HMAC over the call's SID, its numbers, its
 * agent and its outbound reference, with an expiry, keyed by a secret every instance shares in
 * KV. The socket's first message (`setup` or `start`) must bring a token that matches what it
 * says about the call; only then is the call's data believed and a record opened.
 *
 * An outbound call's TwiML is made before Twilio gives the call a SID: its token is bound to the
 * call reference instead (random, stored in KV by `POST /api/calls`).
 *
 * @module
 */

import { base64url, fromBase64url, SharedKey } from "../platform/kv_secret.ts";

/** How long a token opens a socket: ringing, answering machines and reconnects fit in it. */
export const CALL_TOKEN_TTL_MS = 15 * 60 * 1000;
/** The `<Parameter>` that carries the token. */
export const CALL_TOKEN_PARAMETER = "token";
const PREFIX = "cbcall.";

/** What a token vouches for. */
export interface CallClaims {
  /** "" for an outbound call whose SID is not known yet (then `reference` is set). */
  callSid: string;
  from: string;
  to: string;
  agent: string;
  reference: string;
}

/** Issues and checks call tokens. */
export class CallTokens {
  readonly #key: SharedKey;

  constructor(kv: Deno.Kv, private readonly now: () => number = Date.now) {
    this.#key = new SharedKey(kv, "call_token");
  }

  /** A token for `claims`, valid for {@link CALL_TOKEN_TTL_MS}. */
  async issue(claims: CallClaims): Promise<string> {
    const expiry = String(this.now() + CALL_TOKEN_TTL_MS);
    const mac = await crypto.subtle.sign("HMAC", await this.#key.get(), message(expiry, claims));
    return `${PREFIX}${expiry}.${base64url(new Uint8Array(mac))}`;
  }

  /**
   * Whether `token` was issued (by any instance) for `claims` and has not expired. A token made
   * before the call had a SID matches when `claims` has a reference. Never throws.
   */
  async verify(token: string | undefined, claims: CallClaims): Promise<boolean> {
    if (!token?.startsWith(PREFIX)) return false;
    const [expiry, signature, ...rest] = token.slice(PREFIX.length).split(".");
    if (rest.length || !/^\d{1,15}$/.test(expiry) || Number(expiry) < this.now()) return false;
    const bytes = fromBase64url(signature ?? "");
    if (!bytes) return false;
    const key = await this.#key.get();
    const candidates = claims.reference ? [claims, { ...claims, callSid: "" }] : [claims];
    for (const candidate of candidates) {
      if (await crypto.subtle.verify("HMAC", key, bytes, message(expiry, candidate))) return true;
    }
    return false;
  }
}

function message(expiry: string, c: CallClaims): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(
    JSON.stringify([expiry, c.callSid, c.from, c.to, c.agent, c.reference]),
  );
}
