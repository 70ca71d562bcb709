/**
 * `POST /demo/booking/cancel`: cancels a booking of the demo booking service
 * (`{ slot, confirmation }` → `{ cancelled: slot }`; 404 when no such booking).
 *
 * @module
 */

import type { Handler } from "hono";
import { checkCancel, type DemoBooking } from "../../../lib/demo/demo_booking.ts";
import { jsonBody } from "./book.ts";

/** Cancels the booking, or answers 400 (bad request) or 404 (no such booking). */
export function demoCancelHandler(booking: DemoBooking): Handler {
  return async (c) => {
    const checked = checkCancel(await jsonBody(c));
    if (!checked.ok) return c.json({ error: checked.error }, 400);
    const { slot, confirmation } = checked.value;
    if (!await booking.cancel(slot, confirmation)) {
      return c.json({ error: `no booking of ${slot} with that confirmation` }, 404);
    }
    return c.json({ cancelled: slot });
  };
}
