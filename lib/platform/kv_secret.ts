/**
 * A random HMAC key shared by every instance through Deno KV: created by whichever instance needs
 * it first (an atomic check-and-set), read by the others. Tokens one instance signs, any checks.
 *
 * @module
 */

/** The HMAC-SHA256 key stored under `["admin_secret", name]`, created on first use. */
export async function sharedHmacKey(kv: Deno.Kv, name: string): Promise<CryptoKey> {
  const key = ["admin_secret", name];
  let secret = (await kv.get<Uint8Array<ArrayBuffer>>(key)).value;
  if (!secret) {
    const fresh = crypto.getRandomValues(new Uint8Array(32));
    const result = await kv.atomic().check({ key, versionstamp: null }).set(key, fresh).commit();
    secret = result.ok ? fresh : (await kv.get<Uint8Array<ArrayBuffer>>(key)).value!;
  }
  return await crypto.subtle.importKey(
    "raw",
    secret,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** A lazily loaded {@link sharedHmacKey}: one KV read per process, retried after a failure. */
export class SharedKey {
  #key: Promise<CryptoKey> | null = null;
  constructor(private readonly kv: Deno.Kv, private readonly name: string) {}

  get(): Promise<CryptoKey> {
    this.#key ??= sharedHmacKey(this.kv, this.name).catch((err) => {
      this.#key = null;
      throw err;
    });
    return this.#key;
  }
}

/** Bytes as base64url without padding. */
export function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** base64url text (at most 100 characters) as bytes, or null if it is not valid. */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(text) || text.length % 4 === 1) return null;
  const padded = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}
