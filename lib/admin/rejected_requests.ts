/**
 * The last few `/twilio/*` requests this instance refused, newest first, for the `/config` page:
 * a signature mismatch is most often a `PUBLIC_URL` that is not the URL Twilio was given, and the
 * page shows the URL the service expected beside the hint. Per instance (each one checks its own
 * requests); nothing secret is kept, only the method, path, reason and expected URL.
 *
 * @module
 */

/** One refused request. */
export interface RejectedRequest {
  /** When it was refused (epoch ms). */
  at: number;
  method: string;
  path: string;
  /** Why: "missing", "mismatch", … */
  why: string;
  /** The URL the signature was checked against, when one was computed. */
  expectedUrl: string | null;
  /** What to check, when there is a likely fix. */
  hint: string | null;
}

/** A bounded, newest-first list of refused requests. */
export class RejectedRequests {
  #items: RejectedRequest[] = [];

  /** Keeps at most `limit` requests. */
  constructor(readonly limit = 10) {}

  /** Records `request`, forgetting the oldest past the limit. */
  add(request: RejectedRequest): void {
    this.#items.unshift(request);
    if (this.#items.length > this.limit) this.#items.length = this.limit;
  }

  /** The requests kept, newest first. */
  list(): RejectedRequest[] {
    return [...this.#items];
  }
}
