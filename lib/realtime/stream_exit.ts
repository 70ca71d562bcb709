/**
 * Taking a call off its Media Stream with something to follow: the TwiML that should run next is
 * stored for the `<Connect action>` request first (so whichever instance Twilio asks can answer
 * it), then, with REST credentials, put in place at once (`calls(sid).update`); the stream is
 * closed last, which is what makes Twilio move on.
 *
 * @module
 */

import type { CallRedirector } from "../calls/call_redirect.ts";
import type { CallSocket } from "../calls/call_types.ts";
import type { StreamEnding, StreamEndings } from "../calls/stream_ending.ts";
import { withTimeout } from "../platform/deadline.ts";
import { errorMessage, type Logger } from "../platform/log.ts";

/** How long a REST redirect may take before the stream is closed anyway. */
export const REDIRECT_TIMEOUT_MS = 3000;

/** Where the ending goes. */
export interface StreamExit {
  socket: CallSocket;
  /** null before `start` (nothing to store or redirect: the stream just closes). */
  callSid: string | null;
  endings: StreamEndings;
  redirect: CallRedirector | null;
  log: Logger;
}

/** Leaves the stream with `ending.twiml` next; never throws. */
export async function leaveStream(exit: StreamExit, ending: StreamEnding): Promise<void> {
  const { callSid, log } = exit;
  if (callSid) {
    await exit.endings.record(callSid, ending).catch((err) =>
      log.warn("call.ending_not_stored", { error: errorMessage(err) })
    );
    if (exit.redirect) {
      await withTimeout(exit.redirect(callSid, ending.twiml), REDIRECT_TIMEOUT_MS, "REST redirect")
        .then(
          () => log.info("call.redirected", { to: ending.reason }),
          (err) => log.warn("call.redirect_failed", { error: errorMessage(err) }),
        );
    }
  }
  closeStream(exit.socket);
}

/** Closes Twilio's socket (once it is open, if the upgrade is still being answered). */
export function closeStream(socket: CallSocket): void {
  if (socket.readyState === WebSocket.OPEN) socket.close(1000);
  else if (socket.readyState === WebSocket.CONNECTING) {
    socket.addEventListener("open", () => socket.close(1000));
  }
}
