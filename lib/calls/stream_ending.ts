/**
 * What follows a Media Stream. The stream's TwiML is `<Connect action="/twilio/stream/action">`:
 * when the service closes the socket, Twilio asks that URL what to do next. The bridge stores
 * the answer in KV just before it closes the socket — a hang-up after a normal ending, a goodbye
 * or a `<Dial>` a tool asked for, the apology after a failure — so whichever instance Twilio's
 * request reaches answers as the call ended, and a normal ending never sounds like a failure.
 *
 * @module
 */

import { withTimeout } from "../platform/deadline.ts";
import { emptyTwiml, sayAndHangUpTwiml } from "../protocols/twiml.ts";

/** How a stream ended and the TwiML that follows it. */
export interface StreamEnding {
  reason: string;
  twiml: string;
}

/** Options of {@link streamActionTwiml}. */
export interface StreamActionOptions {
  /** What the bridge stored for the call, if anything. */
  ending: StreamEnding | null;
  /** `CallStatus` of Twilio's request (`completed`: the caller has hung up). */
  callStatus: string;
  /** Said when the stream ended and nothing says how (a crash, a dropped socket). */
  fallback: string;
}

/** The TwiML answering Twilio's `<Connect action>` request after a stream ended. */
export function streamActionTwiml(
  options: StreamActionOptions,
): { twiml: string; outcome: string } {
  if (options.ending) return { twiml: options.ending.twiml, outcome: options.ending.reason };
  if (options.callStatus === "completed") {
    return { twiml: emptyTwiml(), outcome: "completed" };
  }
  return { twiml: sayAndHangUpTwiml(options.fallback), outcome: "unknown" };
}

/** The stored endings, one per call, kept for an hour. */
export class StreamEndings {
  static readonly TTL_MS = 60 * 60 * 1000;
  /** Longest wait for the write before the bridge closes the socket anyway. */
  static readonly WRITE_TIMEOUT_MS = 1000;
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Stores how `callSid`'s stream ended; rejects if it is not written within the timeout. */
  async record(callSid: string, ending: StreamEnding): Promise<void> {
    await withTimeout(
      this.#kv.set(["stream_ending", callSid], ending, { expireIn: StreamEndings.TTL_MS }),
      StreamEndings.WRITE_TIMEOUT_MS,
      "storing the stream's ending",
    );
  }

  /** How `callSid`'s stream ended, or null if no bridge said. */
  async get(callSid: string): Promise<StreamEnding | null> {
    const entry = await this.#kv.get<StreamEnding>(["stream_ending", callSid]);
    return entry.value;
  }
}
