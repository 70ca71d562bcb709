/**
 * HMAC-SHA256 signatures over `<timestamp>.<body>`, the scheme of the service's outgoing
 * requests (the end-of-call webhook; HTTP tools sign the same way), so a receiver can check a
 * request came from this service and is fresh.
 *
 * @module
 */

/** HMAC-SHA256 of `message` with `secret`, as lower-case hex. */
export async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The signature headers of `body` sent at `timestamp` (epoch seconds), signed with `secret`. */
export async function signatureHeaders(
  secret: string,
  body: string,
  timestamp: number,
): Promise<Record<string, string>> {
  return {
    "x-callbridge-timestamp": String(timestamp),
    "x-callbridge-signature": `sha256=${await hmacSha256Hex(secret, `${timestamp}.${body}`)}`,
  };
}
