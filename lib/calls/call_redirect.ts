/**
 * Replacing a live call's TwiML (`calls(sid).update({ twiml })`): the only way to take a call off
 * a Media Stream from the service side with something to say.
 *
 * @module
 */

/** Replaces the TwiML of call `callSid`; rejects if Twilio refuses. */
export type CallRedirector = (callSid: string, twiml: string) => Promise<void>;
