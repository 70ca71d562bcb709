/**
 * `POST /demo/booking/slots`: the demo booking service's free slots of a day, as JSON
 * (`{ "date": "YYYY-MM-DD" }` → `{ date, slots: [slot id…] }`).
 *
 * @module
 */

import type { Handler } from "hono";
import { checkDay, type DemoBooking } from "../../../lib/demo/demo_booking.ts";
import { jsonBody } from "./book.ts";

/** Answers the free slots of the day asked for, or 400 naming what is wrong. */
export function demoSlotsHandler(booking: DemoBooking): Handler {
  return async (c) => {
    const checked = checkDay(await jsonBody(c));
    if (!checked.ok) return c.json({ error: checked.error }, 400);
    const { date } = checked.value;
    return c.json({ date, slots: await booking.freeSlots(date) });
  };
}
