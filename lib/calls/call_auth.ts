/**
 * Believing a call's socket: its first message (`setup` or `start`) must carry the call token the
 * TwiML gave it, matching what the message says about the call (see `call_token.ts`). Both call
 * paths check it the same way, count the refusals and log them.
 *
 * @module
 */

import type { Logger } from "../platform/log.ts";
import type { CallDeps } from "./call_deps.ts";
import { CALL_TOKEN_PARAMETER, type CallClaims } from "./call_token.ts";

/** What the first message says about the call. */
export interface CallIdentity {
  callSid: string;
  from: string;
  to: string;
  customParameters: Record<string, string>;
}

/**
 * Whether the call may go on: true when its token matches (or no token is required — signature
 * checks off, or a socket authenticated otherwise); a refusal is counted and logged.
 */
export async function authenticateCall(
  deps: Pick<CallDeps, "authenticate" | "callTokens" | "limitHit">,
  call: CallIdentity,
  options: { path: "relay" | "stream"; log: Logger; trusted?: boolean },
): Promise<boolean> {
  if (options.trusted || !deps.authenticate) return true;
  const params = call.customParameters;
  const claims: CallClaims = {
    callSid: call.callSid,
    from: call.from,
    to: call.to,
    agent: params.agent ?? "",
    reference: params.reference ?? "",
  };
  if (await deps.callTokens.verify(params[CALL_TOKEN_PARAMETER], claims)) return true;
  deps.limitHit("call_token", { path: options.path });
  options.log.warn("call.token_rejected", {
    why: `${options.path === "relay" ? "setup" : "start"} without a valid call token`,
  });
  return false;
}
