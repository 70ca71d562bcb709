/**
 * The TwiML that puts a call on an agent, with every URL derived from the public base URL.
 */

import { publicBaseUrl, toWebSocketUrl } from "./public_url.ts";
import { RECONNECTING } from "./relay_action.ts";
import { NOT_CONFIGURED } from "./relay_session.ts";
import type { Services } from "./services.ts";
import { relayTwiml, sayAndHangUpTwiml } from "./twiml.ts";

/** Options of {@link callRelayTwiml}. */
export interface CallRelayOptions {
  /** `<Parameter>`s for the socket. */
  parameters: Record<string, string>;
  /** How many times this call was already reconnected after a failure. */
  reconnects?: number;
}

/** ConversationRelay TwiML for a call arriving as `request` (or an apology if not configured). */
export function callRelayTwiml(
  services: Services,
  request: Request,
  options: CallRelayOptions,
): string {
  if (!services.llm) return sayAndHangUpTwiml(NOT_CONFIGURED);
  const base = publicBaseUrl(services.config.publicUrl, request);
  const reconnects = options.reconnects ?? 0;
  const action = `${base}/twilio/relay/action${reconnects ? `?reconnects=${reconnects}` : ""}`;
  return relayTwiml(services.config.relay, {
    socketUrl: `${toWebSocketUrl(base)}/twilio/relay`,
    actionUrl: action,
    parameters: options.parameters,
    // After a reconnect the caller should not be greeted again.
    welcomeGreeting: reconnects ? "" : undefined,
    intro: reconnects ? RECONNECTING : undefined,
  });
}
