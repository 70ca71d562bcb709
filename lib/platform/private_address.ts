/**
 * Whether an HTTP tool's target is inside the network the service runs in: loopback,
 * link-local (cloud metadata at 169.254.169.254), private, shared (CGNAT), unspecified or
 * multicast addresses. A model steered by a caller must not make the service fetch those.
 *
 * A host name is resolved (A and AAAA) and refused if any address is inside. The check runs
 * before the request; a name whose answer changes in between (DNS rebinding) is not caught, so
 * profiles that must not reach internal services should also run where those are firewalled.
 *
 * @module
 */

/** Whether the IPv4 or IPv6 literal `ip` is not a public unicast address (or not an address). */
export function isInternalAddress(ip: string): boolean {
  const v4 = parseIpv4(ip);
  if (v4) return internalV4(v4);
  const v6 = canonicalIpv6(ip);
  if (v6 === null) return true; // not an address: refuse rather than guess
  if (v6 === "::" || v6 === "::1") return true;
  const mapped = v6.match(/^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/);
  if (mapped) {
    const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
    return internalV4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  }
  const first = v6.match(/^([0-9a-f]{1,4}):/)?.[1] ?? "0";
  const word = parseInt(first, 16);
  return (word & 0xfe00) === 0xfc00 || // fc00::/7 unique local
    (word & 0xffc0) === 0xfe80 || // fe80::/10 link-local
    (word & 0xff00) === 0xff00; // ff00::/8 multicast
}

function internalV4([a, b]: number[]): boolean {
  return a === 0 || a === 10 || a === 127 || a >= 224 || // this net, private, loopback, multicast+
    (a === 100 && b >= 64 && b <= 127) || // shared address space (CGNAT)
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168);
}

function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    return null;
  }
  return parts.map(Number);
}

/** `text` as the URL parser writes an IPv6 address (compressed, lower case), or null. */
function canonicalIpv6(text: string): string | null {
  const bare = text.replace(/^\[|\]$/g, "");
  if (!bare.includes(":")) return null;
  const host = URL.parse(`http://[${bare}]/`)?.hostname;
  return host ? host.slice(1, -1) : null;
}

/**
 * Why `url` may not be fetched by a tool (its host is, or resolves to, an internal address),
 * or null when it may.
 */
export async function internalTarget(url: URL): Promise<string | null> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost")) return `${host} is this machine`;
  if (parseIpv4(host) || canonicalIpv6(host)) {
    return isInternalAddress(host) ? `${host} is an internal address` : null;
  }
  const answers = await Promise.all(
    (["A", "AAAA"] as const).map((type) => Deno.resolveDns(host, type).catch(() => [] as string[])),
  );
  const internal = answers.flat().find((ip) => isInternalAddress(ip));
  return internal ? `${host} resolves to the internal address ${internal}` : null;
}
