/**
 * What a call session receives from the service: exactly what it uses, built once by the
 * composition root (`services.ts`), so a session can be read — and tested — without the rest.
 *
 * @module
 */

import type { Config } from "../platform/config.ts";
import type { Clock } from "../platform/clock.ts";
import type { Logger } from "../platform/log.ts";
import type { CallRecords } from "../records/call_recorder.ts";
import type { CallContext, CallStart } from "./call_context.ts";
import type { CallRegistry } from "./call_registry.ts";
import type { CallTokens } from "./call_token.ts";

/** Sends a text from the service's number. */
export type SendSms = (message: { to: string; body: string }) => Promise<{ sid: string }>;

/** The dependencies both call paths share. */
export interface CallDeps {
  log: Logger;
  clock: Clock;
  registry: CallRegistry;
  records: CallRecords;
  callTokens: CallTokens;
  /** Resolves the call's profile, params, instructions and tools when it starts. */
  resolveContext(start: CallStart): Promise<CallContext>;
  /** Counts (for `/metrics`) and logs a limit that was hit. */
  limitHit(limit: string, fields?: Record<string, unknown>): void;
  /** Twilio's Messages API; null without credentials or `TWILIO_PHONE_NUMBER`. */
  sendSms: SendSms | null;
  /** Signatures are checked, so a call's socket must bring its call token. */
  authenticate: boolean;
  limits: Config["limits"];
  /** The number a hand-off dials when the profile has none. */
  handoffNumber: string | null;
  dtmfDebounceMs: number;
}
