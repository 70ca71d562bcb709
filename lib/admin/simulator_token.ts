/**
 * Short-lived tokens that let the admin simulator open the ConversationRelay socket.
 *
 * A browser cannot put `X-Twilio-Signature` on a WebSocket, so the simulator page asks the
 * (password-protected) server for a token and offers it as a WebSocket subprotocol, next to
 * {@link SIMULATOR_PROTOCOL}. The token is `cbsim.<expiry ms>.<nonce>.<HMAC-SHA256>`, keyed with a
 * random secret kept in KV, so any instance can check a token another one issued. A token opens
 * one socket: its nonce is consumed in KV the first time it is accepted.
 *
 * @module
 */

import { base64url, fromBase64url, SharedKey } from "../platform/kv_secret.ts";

/** The subprotocol the simulator offers (and the server selects) besides its token. */
export const SIMULATOR_PROTOCOL = "callbridge-simulator";
/** How long a token opens the socket. */
export const SIMULATOR_TOKEN_TTL_MS = 60_000;
const PREFIX = "cbsim.";
const NONCE_KEY = ["simulator_nonce"];

/** Issues and checks simulator tokens. */
export class SimulatorTokens {
  readonly #key: SharedKey;

  constructor(
    private readonly kv: Deno.Kv,
    private readonly now: () => number = Date.now,
  ) {
    this.#key = new SharedKey(kv, "simulator");
  }

  /** A new token, valid for {@link SIMULATOR_TOKEN_TTL_MS}. */
  async issue(): Promise<string> {
    const nonce = base64url(crypto.getRandomValues(new Uint8Array(12)));
    const payload = `${this.now() + SIMULATOR_TOKEN_TTL_MS}.${nonce}`;
    return `${PREFIX}${payload}.${await this.#sign(payload)}`;
  }

  /**
   * Whether `token` was issued here (by any instance), has not expired and was never used; a
   * token that passes is used up. Never throws on malformed input.
   */
  async verify(token: string): Promise<boolean> {
    if (!token.startsWith(PREFIX)) return false;
    const parts = token.slice(PREFIX.length).split(".");
    if (parts.length !== 3) return false;
    const [expiry, nonce, signature] = parts;
    if (!/^\d{1,15}$/.test(expiry) || Number(expiry) < this.now()) return false;
    if (!/^[A-Za-z0-9_-]{16}$/.test(nonce)) return false;
    const bytes = fromBase64url(signature);
    if (!bytes) return false;
    const valid = await crypto.subtle.verify(
      "HMAC",
      await this.#key.get(),
      bytes,
      new TextEncoder().encode(`${expiry}.${nonce}`),
    );
    if (!valid) return false;
    // Single use: the first socket to present it consumes the nonce (on every instance).
    const used = await this.kv.atomic()
      .check({ key: [...NONCE_KEY, nonce], versionstamp: null })
      .set([...NONCE_KEY, nonce], true, { expireIn: SIMULATOR_TOKEN_TTL_MS * 2 })
      .commit();
    return used.ok;
  }

  async #sign(payload: string): Promise<string> {
    const mac = await crypto.subtle.sign(
      "HMAC",
      await this.#key.get(),
      new TextEncoder().encode(payload),
    );
    return base64url(new Uint8Array(mac));
  }
}

/** The simulator token among the subprotocols a WebSocket upgrade offers, or null. */
export function simulatorTokenOf(protocols: string | undefined | null): string | null {
  const offered = (protocols ?? "").split(",").map((p) => p.trim());
  if (!offered.includes(SIMULATOR_PROTOCOL)) return null;
  return offered.find((p) => p.startsWith(PREFIX)) ?? null;
}
