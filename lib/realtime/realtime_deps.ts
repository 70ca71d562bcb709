/**
 * What a realtime call receives from the service beyond what both call paths share.
 *
 * @module
 */

import type { CallDeps } from "../calls/call_deps.ts";
import type { CallRedirector } from "../calls/call_redirect.ts";
import type { StreamEndings } from "../calls/stream_ending.ts";
import type { Config } from "../platform/config.ts";

/** The dependencies of a realtime call. */
export interface RealtimeDeps extends CallDeps {
  openai: Config["openai"];
  /** What the model is asked to say first when the agent has no greeting ("" = nothing). */
  realtimeGreeting: string;
  /** Said after a stream that failed. */
  realtimeFallback: string;
  /** Replaces a live call's TwiML; null without REST credentials. */
  redirect: CallRedirector | null;
  streamEndings: StreamEndings;
}
