/**
 * Tools declared in a profile's manifest that call the user's own HTTP endpoint: how a business
 * system gets connected without writing code.
 *
 * The arguments go as JSON (query string for GET), signed with
 * `X-Callbridge-Signature: sha256=<hex HMAC of "<timestamp>.<body>">` and `X-Callbridge-Timestamp`,
 * so the endpoint can check the request came from this service and is fresh (the demo booking
 * service checks it so: `lib/demo/demo_access.ts`).
 *
 * A URL starting with `/demo/` names one of this service's own demo endpoints: it is resolved
 * against the service's base URL (`PUBLIC_URL`, or the listening address) and, being the
 * service itself, is not refused as a private address.
 *
 * @module
 */

import type { HttpToolSpec } from "./agent_profile.ts";
import { hmacSha256Hex } from "../platform/hmac.ts";
import { internalTarget } from "../platform/private_address.ts";
import { type Tool, ToolError } from "./tools.ts";

const MAX_ANSWER_BYTES = 16 * 1024;

/** Where a URL of this service's own demo endpoints starts (see the module doc). */
export const OWN_URL_PREFIX = "/demo/";

/** Options of {@link httpTool}. */
export interface HttpToolOptions {
  /** The endpoint may be a loopback, link-local or private address (the profile allows it). */
  allowPrivateNetwork?: boolean;
  /** This service's base URL, which `/demo/…` URLs are resolved against. */
  baseUrl?: string | null;
}

/** The HTTP request one call of a tool makes. */
export interface HttpToolRequest {
  method: string;
  url: URL;
  /** The JSON body (undefined for GET and DELETE, whose arguments go in the query). */
  body: string | undefined;
  /** The service's own endpoint (a `/demo/…` URL). */
  own: boolean;
}

/**
 * The request `spec` makes for `args`: query parameters fixed in the manifest's URL win over
 * the model's arguments. Throws a {@link ToolError} for an own URL without a base URL.
 */
export function httpToolRequest(
  spec: HttpToolSpec,
  args: Record<string, unknown>,
  baseUrl: string | null = null,
): HttpToolRequest {
  const inQuery = spec.method === "GET" || spec.method === "DELETE";
  const own = spec.url.startsWith(OWN_URL_PREFIX);
  if (own && !baseUrl) {
    throw new ToolError("The tool names this service's own endpoint, but its URL is not known.");
  }
  const url = new URL(own ? `${baseUrl}${spec.url}` : spec.url);
  // "/demo/../agents" would leave the demo endpoints once resolved: refused.
  if (own && !url.pathname.startsWith(`${new URL(baseUrl!).pathname.replace(/\/$/, "")}/demo/`)) {
    throw new ToolError("The tool's URL leaves this service's demo endpoints.");
  }
  if (inQuery) {
    const fixed = new Set(url.searchParams.keys());
    for (const [k, v] of Object.entries(args)) {
      if (!fixed.has(k)) url.searchParams.set(k, typeof v === "string" ? v : JSON.stringify(v));
    }
  }
  return { method: spec.method, url, body: inQuery ? undefined : JSON.stringify(args), own };
}

/**
 * A {@link Tool} for `spec`, signing with `secret` (unsigned when null). Redirects are not
 * followed (a 3xx is a tool error, so an endpoint cannot bounce the request inward), internal
 * addresses are refused unless allowed, query parameters fixed in the manifest's URL win over
 * the model's arguments, and at most 16 KB of the answer is read.
 */
export function httpTool(
  spec: HttpToolSpec,
  secret: string | null,
  options: HttpToolOptions = {},
): Tool {
  return {
    name: spec.name,
    description: spec.description,
    parameters: spec.parameters,
    timeoutMs: spec.timeoutMs,
    async run(args, ctx) {
      const { url, body, own } = httpToolRequest(spec, args, options.baseUrl ?? null);
      if (!options.allowPrivateNetwork && !own) {
        const internal = await internalTarget(url);
        if (internal) {
          throw new ToolError(
            `The tool's endpoint is refused: ${internal} (set "allowPrivateNetwork": true in agent.json to allow it).`,
          );
        }
      }
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signed = body ?? url.search;
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "accept": "application/json",
        "x-callbridge-call-sid": ctx.call.callSid,
        "x-callbridge-agent": ctx.call.agent,
        "x-callbridge-timestamp": timestamp,
      };
      if (secret) {
        headers["x-callbridge-signature"] = `sha256=${await hmacSha256Hex(
          secret,
          `${timestamp}.${signed}`,
        )}`;
      }
      const response = await fetch(url, {
        method: spec.method,
        headers,
        body,
        signal: ctx.signal,
        redirect: "manual",
      });
      if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)) {
        await response.body?.cancel();
        throw new ToolError(
          `The service answered with a redirect (HTTP ${response.status}), which tools do not follow.`,
        );
      }
      const text = await readText(response, MAX_ANSWER_BYTES);
      if (!response.ok) {
        throw new ToolError(`The service answered HTTP ${response.status}: ${text.slice(0, 300)}`);
      }
      try {
        return text ? JSON.parse(text) : { ok: true };
      } catch {
        return { text };
      }
    },
  };
}

/** At most `limit` bytes of `response`'s body as text; the rest is never read (cancelled). */
async function readText(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value.subarray(0, limit - size));
      size += Math.min(value.length, limit - size);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  // A character cut at the limit decodes as U+FFFD, never as an error.
  return new TextDecoder().decode(bytes);
}
