/**
 * A small booking service shipped for the `appointments` example, so its HTTP tools have
 * something real to call: free slots of a day, booking one, cancelling one. State lives in Deno
 * KV, so every instance sees the same bookings; a booking is one atomic write, so two callers
 * cannot take the same slot. `routes/demo/booking/` serves it as JSON.
 *
 * @module
 */

/** The opening hours: one slot at each of these times, every day. */
export const DEMO_TIMES = ["09:00", "10:00", "11:00", "14:00", "15:00", "16:00"] as const;
const PREFIX = "demo_booking";
/** Bookings expire after this long: it is a demo, not a system of record. */
const BOOKING_TTL_MS = 30 * 24 * 60 * 60 * 1000;
const MAX_NAME = 100;

/** A booked slot. */
export interface DemoBookingRecord {
  slot: string;
  name: string;
  confirmation: string;
  bookedAt: number;
}

/** A validated request, or what is wrong with it. */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** Whether `date` is a real calendar day written `YYYY-MM-DD`. */
function realDate(date: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return false;
  const parsed = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === date;
}

/** `{ date }` of a request for a day's free slots. */
export function checkDay(body: unknown): Checked<{ date: string }> {
  const date = (body as { date?: unknown } | null)?.date;
  if (typeof date !== "string" || !realDate(date)) {
    return { ok: false, error: "date must be a day written YYYY-MM-DD" };
  }
  return { ok: true, value: { date } };
}

/** Whether `slot` is one of the demo's slot ids, `YYYY-MM-DDTHH:MM`. */
function slotProblem(slot: unknown): string | null {
  if (typeof slot !== "string") return "slot must be a slot id like 2030-01-31T09:00";
  const [date, time] = slot.split("T");
  if (!realDate(date ?? "") || !(DEMO_TIMES as readonly string[]).includes(time ?? "")) {
    return `slot must be a slot id from find_slots, like ${date || "2030-01-31"}T09:00`;
  }
  return null;
}

/** `{ slot, name }` of a booking request. */
export function checkBooking(body: unknown): Checked<{ slot: string; name: string }> {
  const { slot, name } = (body ?? {}) as { slot?: unknown; name?: unknown };
  const problem = slotProblem(slot);
  if (problem) return { ok: false, error: problem };
  if (typeof name !== "string" || !name.trim() || name.trim().length > MAX_NAME) {
    return { ok: false, error: `name must be the patient's name (1 to ${MAX_NAME} characters)` };
  }
  return { ok: true, value: { slot: slot as string, name: name.trim() } };
}

/** `{ slot, confirmation }` of a cancellation. */
export function checkCancel(body: unknown): Checked<{ slot: string; confirmation: string }> {
  const { slot, confirmation } = (body ?? {}) as { slot?: unknown; confirmation?: unknown };
  const problem = slotProblem(slot);
  if (problem) return { ok: false, error: problem };
  if (typeof confirmation !== "string" || !/^[A-Z0-9]{6}$/.test(confirmation)) {
    return { ok: false, error: "confirmation must be the 6-character code the booking gave" };
  }
  return { ok: true, value: { slot: slot as string, confirmation } };
}

/** The demo's bookings, in KV. */
export class DemoBooking {
  constructor(private readonly kv: Deno.Kv, private readonly now: () => number = Date.now) {}

  /** The free slot ids of `date`, in time order. */
  async freeSlots(date: string): Promise<string[]> {
    const taken = new Set<string>();
    for await (const entry of this.kv.list<DemoBookingRecord>({ prefix: [PREFIX, date] })) {
      taken.add(entry.value.slot);
    }
    return DEMO_TIMES.map((t) => `${date}T${t}`).filter((slot) => !taken.has(slot));
  }

  /** The booking of `slot`, or null. */
  async booking(slot: string): Promise<DemoBookingRecord | null> {
    return (await this.kv.get<DemoBookingRecord>(key(slot))).value;
  }

  /** Books `slot` for `name`; null when it is already taken. */
  async book(slot: string, name: string): Promise<DemoBookingRecord | null> {
    const record: DemoBookingRecord = {
      slot,
      name,
      confirmation: confirmationCode(),
      bookedAt: this.now(),
    };
    const done = await this.kv.atomic()
      .check({ key: key(slot), versionstamp: null })
      .set(key(slot), record, { expireIn: BOOKING_TTL_MS })
      .commit();
    return done.ok ? record : null;
  }

  /** Cancels `slot` if `confirmation` is its booking's; whether it did. */
  async cancel(slot: string, confirmation: string): Promise<boolean> {
    const entry = await this.kv.get<DemoBookingRecord>(key(slot));
    if (entry.value?.confirmation !== confirmation) return false;
    const done = await this.kv.atomic().check(entry).delete(key(slot)).commit();
    return done.ok;
  }
}

function key(slot: string): Deno.KvKey {
  const [date, time] = slot.split("T");
  return [PREFIX, date, time];
}

/** Six capitals and digits, without the look-alikes 0/O and 1/I. */
function confirmationCode(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  return [...crypto.getRandomValues(new Uint8Array(6))]
    .map((b) => alphabet[b % alphabet.length])
    .join("");
}
