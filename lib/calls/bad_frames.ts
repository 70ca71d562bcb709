/**
 * Malformed frames are logged and dropped, never fatal: the first few one by one, then one line
 * per thousand, so a flood of junk is not a flood of logs. Both call paths count theirs here.
 *
 * @module
 */

import type { Logger } from "../platform/log.ts";

/** Frames logged one by one before only every thousandth is. */
const LOGGED_ONE_BY_ONE = 10;

/** A call's count of dropped frames. */
export class BadFrames {
  count = 0;

  /** `log` gives the call's logger as it is now (it gains the call SID at `start`). */
  constructor(private readonly log: () => Logger, private readonly event: string) {}

  /** Counts a dropped frame and logs it when due. */
  drop(error: string, fields: Record<string, unknown> = {}): void {
    const count = ++this.count;
    if (count <= LOGGED_ONE_BY_ONE || count % 1000 === 0) {
      this.log().warn(this.event, { ...fields, error, count });
    }
  }
}
