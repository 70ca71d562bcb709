/**
 * Tools declared in a profile's manifest that call the user's own HTTP endpoint: how a business
 * system gets connected without writing code.
 *
 * The arguments go as JSON (query string for GET), signed with
 * `X-Callbridge-Signature: sha256=<hex HMAC of "<timestamp>.<body>">` and `X-Callbridge-Timestamp`,
 * so the endpoint can check the request came from this service and is fresh.
 *
 * @module
 */

import type { HttpToolSpec } from "./agent_profile.ts";
import { internalTarget } from "../platform/private_address.ts";
import { type Tool, ToolError } from "./tools.ts";

const MAX_ANSWER_BYTES = 16 * 1024;

/** HMAC-SHA256 of `message` with `secret`, as lower-case hex. */
export async function hmacHex(secret: string, message: string): Promise<string> {
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

/** Options of {@link httpTool}. */
export interface HttpToolOptions {
  /** The endpoint may be a loopback, link-local or private address (the profile allows it). */
  allowPrivateNetwork?: boolean;
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
  const inQuery = spec.method === "GET" || spec.method === "DELETE";
  return {
    name: spec.name,
    description: spec.description,
    parameters: spec.parameters,
    timeoutMs: spec.timeoutMs,
    async run(args, ctx) {
      const body = JSON.stringify(args);
      const url = new URL(spec.url);
      if (inQuery) {
        const fixed = new Set(url.searchParams.keys());
        for (const [k, v] of Object.entries(args)) {
          if (!fixed.has(k)) url.searchParams.set(k, typeof v === "string" ? v : JSON.stringify(v));
        }
      }
      if (!options.allowPrivateNetwork) {
        const internal = await internalTarget(url);
        if (internal) {
          throw new ToolError(
            `The tool's endpoint is refused: ${internal} (set "allowPrivateNetwork": true in agent.json to allow it).`,
          );
        }
      }
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signed = inQuery ? url.search : body;
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "accept": "application/json",
        "x-callbridge-call-sid": ctx.call.callSid,
        "x-callbridge-agent": ctx.call.agent,
        "x-callbridge-timestamp": timestamp,
      };
      if (secret) {
        headers["x-callbridge-signature"] = `sha256=${await hmacHex(
          secret,
          `${timestamp}.${signed}`,
        )}`;
      }
      const response = await fetch(url, {
        method: spec.method,
        headers,
        body: inQuery ? undefined : body,
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
