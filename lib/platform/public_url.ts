/**
 * The public base URL Twilio reaches, from which every webhook and `wss://` URL is derived.
 *
 * `PUBLIC_URL` wins; without it the URL is rebuilt from the request (honouring a proxy's
 * `X-Forwarded-Proto`/`X-Forwarded-Host`), which is fine for local development only.
 *
 * @module
 */

/** The `https://host[/prefix]` base for `request`, without a trailing slash. */
export function publicBaseUrl(configured: string | null, request: Request): string {
  if (configured) return configured;
  const url = new URL(request.url);
  const proto = request.headers.get("x-forwarded-proto")?.split(",")[0].trim() ||
    url.protocol.slice(0, -1);
  const host = request.headers.get("x-forwarded-host")?.split(",")[0].trim() ||
    request.headers.get("host") || url.host;
  return `${proto}://${host}`;
}

/** `https://…` → `wss://…` (and `http://` → `ws://` for loopback tests). */
export function toWebSocketUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, "ws");
}
