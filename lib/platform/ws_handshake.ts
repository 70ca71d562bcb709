/**
 * The client side of the WebSocket opening handshake (RFC 6455 §4.1): the key's expected
 * `Sec-WebSocket-Accept`, and whether the server's response is a valid upgrade.
 *
 * @module
 */

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();

/**
 * Why the server's handshake response is not a valid upgrade (RFC 6455 §4.1), or null: status
 * 101, `Upgrade: websocket`, `Connection: Upgrade`, and `Sec-WebSocket-Accept` exactly `accept`.
 */
export function handshakeProblem(head: string, accept: string): string | null {
  const [status, ...lines] = head.split("\r\n");
  if (!/^HTTP\/1\.1 101( |$)/.test(status)) return `status ${status.slice(0, 40)}`;
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  const tokens = (name: string) =>
    (headers.get(name) ?? []).flatMap((v) => v.split(",")).map((t) => t.trim().toLowerCase());
  if (!tokens("upgrade").includes("websocket")) return "no Upgrade: websocket";
  if (!tokens("connection").includes("upgrade")) return "no Connection: Upgrade";
  const given = headers.get("sec-websocket-accept") ?? [];
  if (given.length !== 1 || given[0] !== accept) return "wrong Sec-WebSocket-Accept";
  return null;
}

/** The `Sec-WebSocket-Accept` a server must answer to `key`. */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}
