/**
 * `POST /demo/booking/book`: books a slot in the demo booking service
 * (`{ slot, name }` → `{ booked: { slot, name, confirmation } }`; 409 when it is taken).
 *
 * @module
 */

import type { Context, Handler } from "hono";
import { checkBooking, type DemoBooking } from "../../../lib/demo/demo_booking.ts";

/** The request's JSON body, or null when it is not JSON. */
export async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    return null;
  }
}

/** Books the slot, or answers 400 (bad request) or 409 (taken). */
export function demoBookHandler(booking: DemoBooking): Handler {
  return async (c) => {
    const checked = checkBooking(await jsonBody(c));
    if (!checked.ok) return c.json({ error: checked.error }, 400);
    const { slot, name } = checked.value;
    const booked = await booking.book(slot, name);
    if (!booked) return c.json({ error: `${slot} is already taken: pick another slot` }, 409);
    return c.json({ booked: { slot, name, confirmation: booked.confirmation } });
  };
}
