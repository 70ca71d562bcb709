/**
 * Short-lived tokens that let the admin simulator open the ConversationRelay socket.
 *
 * A browser cannot put `X-Twilio-Signature` on a WebSocket, so the simulator page asks the
 * (password-protected) server for a token and offers it as a WebSocket subprotocol, next to
 * {@link SIMULATOR_PROTOCOL}. The token is `cbsim.<expiry ms>.<nonce>.<HMAC-SHA256>`, keyed with a
 * random secret kept in KV, so any instance can check a token another one issued.
 */

/** The subprotocol the simulator offers (and the server selects) besides its token. */
export const SIMULATOR_PROTOCOL = "callbridge-simulator";
/** How long a token opens the socket. */
export const SIMULATOR_TOKEN_TTL_MS = 60_000;
const PREFIX = "cbsim.";
const SECRET_KEY = ["admin_secret", "simulator"];

/** Issues and checks simulator tokens. */
export class SimulatorTokens {
  #key: Promise<CryptoKey> | null = null;

  constructor(
    private readonly kv: Deno.Kv,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new token, valid for {@link SIMULATOR_TOKEN_TTL_MS}. */
  async issue(): Promise<string> {
    const nonce = base64url(crypto.getRandomValues(new Uint8Array(12)));
    const payload = `${this.now() + SIMULATOR_TOKEN_TTL_MS}.${nonce}`;
    return `${PREFIX}${payload}.${await this.#sign(payload)}`;
  }

  /** Whether `token` was issued here (by any instance) and has not expired. */
  async verify(token: string): Promise<boolean> {
    if (!token.startsWith(PREFIX)) return false;
    const parts = token.slice(PREFIX.length).split(".");
    if (parts.length !== 3) return false;
    const [expiry, nonce, signature] = parts;
    if (!/^\d{1,15}$/.test(expiry) || Number(expiry) < this.now()) return false;
    const key = await this.#keyOnce();
    const bytes = fromBase64url(signature);
    if (!bytes) return false;
    return await crypto.subtle.verify(
      "HMAC",
      key,
      bytes,
      new TextEncoder().encode(`${expiry}.${nonce}`),
    );
  }

  async #sign(payload: string): Promise<string> {
    const key = await this.#keyOnce();
    const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(payload));
    return base64url(new Uint8Array(mac));
  }

  #keyOnce(): Promise<CryptoKey> {
    this.#key ??= this.#loadKey().catch((err) => {
      this.#key = null;
      throw err;
    });
    return this.#key;
  }

  /** The shared secret from KV, created by whichever instance needs it first. */
  async #loadKey(): Promise<CryptoKey> {
    let secret = (await this.kv.get<Uint8Array<ArrayBuffer>>(SECRET_KEY)).value;
    if (!secret) {
      const fresh = crypto.getRandomValues(new Uint8Array(32));
      const result = await this.kv.atomic()
        .check({ key: SECRET_KEY, versionstamp: null })
        .set(SECRET_KEY, fresh)
        .commit();
      secret = result.ok ? fresh : (await this.kv.get<Uint8Array<ArrayBuffer>>(SECRET_KEY)).value!;
    }
    return await crypto.subtle.importKey(
      "raw",
      secret,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
  }
}

/** The simulator token among the subprotocols a WebSocket upgrade offers, or null. */
export function simulatorTokenOf(protocols: string | undefined | null): string | null {
  const offered = (protocols ?? "").split(",").map((p) => p.trim());
  if (!offered.includes(SIMULATOR_PROTOCOL)) return null;
  return offered.find((p) => p.startsWith(PREFIX)) ?? null;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(text)) return null;
  const padded = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}
