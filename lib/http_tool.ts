/**
 * Tools declared in a profile's manifest that call the user's own HTTP endpoint: how a business
 * system gets connected without writing code.
 *
 * The arguments go as JSON (query string for GET), signed with
 * `X-Callbridge-Signature: sha256=<hex HMAC of "<timestamp>.<body>">` and `X-Callbridge-Timestamp`,
 * so the endpoint can check the request came from this service and is fresh.
 */

import type { HttpToolSpec } from "./agent_profile.ts";
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

/** A {@link Tool} for `spec`, signing with `secret` (unsigned when null). */
export function httpTool(spec: HttpToolSpec, secret: string | null): Tool {
  return {
    name: spec.name,
    description: spec.description,
    parameters: spec.parameters,
    timeoutMs: spec.timeoutMs,
    async run(args, ctx) {
      const body = JSON.stringify(args);
      const url = new URL(spec.url);
      if (spec.method === "GET" || spec.method === "DELETE") {
        for (const [k, v] of Object.entries(args)) {
          url.searchParams.set(k, typeof v === "string" ? v : JSON.stringify(v));
        }
      }
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signed = spec.method === "GET" || spec.method === "DELETE" ? url.search : body;
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
        body: spec.method === "GET" || spec.method === "DELETE" ? undefined : body,
        signal: ctx.signal,
      });
      const text = (await response.text()).slice(0, MAX_ANSWER_BYTES);
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
