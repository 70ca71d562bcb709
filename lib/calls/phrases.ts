/**
 * Every fixed sentence a caller may hear from the service itself (not from the agent's model),
 * in one place: to review their tone, to translate them, and to test against.
 *
 * @module
 */

/** The model failed this turn; the call goes on. */
export const APOLOGY = "Sorry, I'm having trouble answering right now. Could you say that again?";
/** Before the call is ended after repeated model failures. */
export const FINAL_APOLOGY =
  "I'm sorry, I'm having technical difficulties and can't continue this call. Goodbye.";
/** The call's agent is disabled: its profile has problems (listed on /agents and /config). */
export const AGENT_UNAVAILABLE =
  "Sorry, this line isn't available right now. Please try again later. Goodbye.";
/** No OpenAI key is configured. */
export const NOT_CONFIGURED =
  "Sorry, this assistant isn't set up yet. Please try again later. Goodbye.";
/** While a slow tool runs (relay path). */
export const FILLER = "One moment…";
/** The call reached `MAX_CALL_SECONDS`. */
export const TIME_LIMIT = "I'm sorry, we've reached the time limit for this call. Goodbye.";
/** The call cannot be taken (draining, or `MAX_CONCURRENT_CALLS`). */
export const BUSY =
  "All our lines are busy right now. Please call again in a few minutes. Goodbye.";
/** A hand-off was asked for but nobody can be dialled. */
export const NO_HUMAN =
  "I'm sorry, nobody is available to take your call right now. Please call back later. Goodbye.";
/** Before a person is dialled for a hand-off. */
export const CONNECTING = "Connecting you to a person now.";
/** Before the relay reconnects after a failure. */
export const RECONNECTING = "Sorry, we lost the line for a moment. I'm back.";
/** The session failed and reconnecting did not help. */
export const FAILED = "Sorry, something went wrong on our side. Please call back later. Goodbye.";
