/**
 * `X-Twilio-Signature` checking for every `/twilio/*` request: form POSTs and WebSocket upgrades.
 *
 * The signed URL is rebuilt from the public base URL (not the Host header a proxy may rewrite); a
 * missing or wrong signature answers 403 before any handler runs.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import twilio from "twilio";
import { formParams } from "../platform/form_params.ts";
import type { Logger } from "../platform/log.ts";
import { publicBaseUrl, toWebSocketUrl } from "../platform/public_url.ts";
import type { RejectedRequests } from "./rejected_requests.ts";
import { simulatorTokenOf } from "./simulator_token.ts";

/** Options of {@link twilioSignature}. */
export interface TwilioSignatureOptions {
  authToken: string | null;
  enabled: boolean;
  publicUrl: string | null;
  log: Logger;
  /**
   * Checks admin simulator tokens: an upgrade to one of the {@link SIMULATOR_SOCKETS} (only), from
   * this service's own origin, offering a valid, unused one as a WebSocket subprotocol needs no
   * Twilio signature.
   */
  simulator?: { verify(token: string): Promise<boolean> } | null;
  /** Where refusals are kept for the `/config` page (this instance's last few). */
  rejections?: Pick<RejectedRequests, "add"> | null;
}

/**
 * The call sockets the admin simulator may open with a token: ConversationRelay (the text mode)
 * and Media Streams (the voice mode). Every other path needs Twilio's signature.
 */
export const SIMULATOR_SOCKETS: readonly string[] = ["/twilio/relay", "/twilio/stream"];

/** What a mismatch most likely means, for the log line and the `/config` page. */
export function mismatchHint(publicUrl: string | null): string {
  return publicUrl
    ? "check PUBLIC_URL: it must be the base of the exact URL set on the Twilio number"
    : "check PUBLIC_URL: it is not set, so the URL was rebuilt from the Host header";
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
  const reject = (c: Context, why: string, extra: { expectedUrl?: string; hint?: string } = {}) => {
    const { expectedUrl = null, hint = null } = extra;
    options.log.warn("twilio.signature_rejected", {
      path: c.req.path,
      why,
      ...(expectedUrl ? { expectedUrl } : {}),
      ...(hint ? { hint } : {}),
    });
    options.rejections?.add({
      at: Date.now(),
      method: c.req.method,
      path: c.req.path,
      why,
      expectedUrl,
      hint,
    });
    return c.text("Forbidden", 403);
  };
  return async (c, next) => {
    if (!options.enabled) return await next();
    const socket = SIMULATOR_SOCKETS.includes(c.req.path) && isUpgrade(c.req.raw);
    if (options.simulator && socket) {
      const token = simulatorTokenOf(c.req.header("sec-websocket-protocol"));
      if (token) {
        // Only the admin pages' own origin may use a token (a browser always sends Origin).
        const origin = c.req.header("origin");
        const ours = new URL(publicBaseUrl(options.publicUrl, c.req.raw)).origin;
        if (origin !== ours && origin !== new URL(c.req.url).origin) {
          return reject(c, "simulator token from another origin");
        }
        if (await options.simulator.verify(token)) return await next();
        return reject(c, "simulator token invalid, expired or used");
      }
    }
    const signature = c.req.header("x-twilio-signature");
    if (!options.authToken) {
      return reject(c, "TWILIO_AUTH_TOKEN is not set, so no signature can be checked");
    }
    if (!signature) return reject(c, "missing");
    const params = c.req.method === "POST" ? await formParams(c) : {};
    const url = signedUrl(options.publicUrl, c.req.raw);
    if (!twilio.validateRequest(options.authToken, signature, url, params)) {
      return reject(c, "mismatch", { expectedUrl: url, hint: mismatchHint(options.publicUrl) });
    }
    await next();
  };
}
