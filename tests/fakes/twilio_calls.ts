/**
 * The calls the fake Twilio knows, shared by its parts as Twilio's own are: a call exists once a
 * fake call leg (a ConversationRelay or Media Streams client) is made for it, or once the fake
 * REST API placed it. The fake REST API answers for these calls only, and with 404 (20404) for
 * any other SID, as Twilio does for a call that is not in the account.
 *
 * Call SIDs are random, so the set can be shared by every test in the process.
 *
 * @module
 */

/** SIDs of the calls Twilio has (inbound legs the fake clients stand for, and placed calls). */
export const TWILIO_CALLS: Set<string> = new Set();
