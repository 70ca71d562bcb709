/**
 * `X-Twilio-Signature` checking for every `/twilio/*` request: form POSTs and WebSocket upgrades.
 *
 * The signed URL is rebuilt from the public base URL (not the Host header a proxy may rewrite); a
 * missing or wrong signature answers 403 before any handler runs.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import twilio from "twilio";
import { formParams } from "../platform/form_params.ts";
import type { Logger } from "../platform/log.ts";
import { publicBaseUrl, toWebSocketUrl } from "../platform/public_url.ts";
import { simulatorTokenOf } from "./simulator_token.ts";

/** Options of {@link twilioSignature}. */
export interface TwilioSignatureOptions {
  authToken: string | null;
  enabled: boolean;
  publicUrl: string | null;
  log: Logger;
  /**
   * Checks admin simulator tokens: an upgrade to `/twilio/relay` (only), from this service's own
   * origin, offering a valid, unused one as a WebSocket subprotocol needs no Twilio signature.
   */
  simulator?: { verify(token: string): Promise<boolean> } | null;
}

/** The URL Twilio signed for `request`: `wss://` for upgrades, the public https URL otherwise. */
export function signedUrl(publicUrl: string | null, request: Request): string {
  const url = new URL(request.url);
  const base = publicBaseUrl(publicUrl, request);
  const full = `${base}${url.pathname}${url.search}`;
  return isUpgrade(request) ? toWebSocketUrl(full) : full;
}

function isUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/** Middleware factory: rejects requests whose Twilio signature is missing or wrong. */
export function twilioSignature(options: TwilioSignatureOptions): MiddlewareHandler {
  return async (c, next) => {
    if (!options.enabled) return await next();
    if (options.simulator && c.req.path === "/twilio/relay" && isUpgrade(c.req.raw)) {
      const token = simulatorTokenOf(c.req.header("sec-websocket-protocol"));
      if (token) {
        // Only the admin pages' own origin may use a token (a browser always sends Origin).
        const origin = c.req.header("origin");
        const ours = new URL(publicBaseUrl(options.publicUrl, c.req.raw)).origin;
        if (origin !== ours && origin !== new URL(c.req.url).origin) {
          options.log.warn("twilio.signature_rejected", {
            path: c.req.path,
            why: "simulator token from another origin",
          });
          return c.text("Forbidden", 403);
        }
        if (await options.simulator.verify(token)) return await next();
        options.log.warn("twilio.signature_rejected", {
          path: c.req.path,
          why: "simulator token invalid, expired or used",
        });
        return c.text("Forbidden", 403);
      }
    }
    const signature = c.req.header("x-twilio-signature");
    if (!options.authToken) {
      options.log.warn("twilio.signature_rejected", {
        path: c.req.path,
        why: "TWILIO_AUTH_TOKEN is not set, so no signature can be checked",
      });
      return c.text("Forbidden", 403);
    }
    if (!signature) {
      options.log.warn("twilio.signature_rejected", { path: c.req.path, why: "missing" });
      return c.text("Forbidden", 403);
    }
    const params = c.req.method === "POST" ? await formParams(c) : {};
    const url = signedUrl(options.publicUrl, c.req.raw);
    if (!twilio.validateRequest(options.authToken, signature, url, params)) {
      options.log.warn("twilio.signature_rejected", { path: c.req.path, why: "mismatch" });
      return c.text("Forbidden", 403);
    }
    await next();
  };
}
