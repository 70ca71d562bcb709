/** Unit tests of the demo booking service over a real KV file: validation, slots, races. */

import assert from "node:assert/strict";
import { checkBooking, checkCancel, checkDay, DEMO_TIMES, DemoBooking } from "./demo_booking.ts";
import { withTempKv } from "../../tests/helpers/temp_kv.ts";

Deno.test("demo booking: requests are validated, each problem worded", () => {
  assert.deepEqual(checkDay({ date: "2030-01-31" }), { ok: true, value: { date: "2030-01-31" } });
  for (const date of ["2030-02-30", "2030-1-31", "tomorrow", 20300131, undefined]) {
    assert.equal(checkDay({ date }).ok, false, String(date));
  }
  assert.equal(checkDay(null).ok, false);
  assert.deepEqual(checkBooking({ slot: "2030-01-31T09:00", name: " Ada " }), {
    ok: true,
    value: { slot: "2030-01-31T09:00", name: "Ada" },
  });
  for (const slot of ["2030-01-31T09:30", "2030-01-31", "2030-02-30T09:00", 9]) {
    const checked = checkBooking({ slot, name: "Ada" });
    assert.ok(!checked.ok && /^slot must be/.test(checked.error), String(slot));
  }
  for (const name of ["", "   ", "x".repeat(101), 5]) {
    const checked = checkBooking({ slot: "2030-01-31T09:00", name });
    assert.ok(!checked.ok && /^name must be/.test(checked.error), String(name));
  }
  assert.equal(checkBooking({ slot: "2030-01-31T09:00", name: "x".repeat(100) }).ok, true);
  assert.equal(checkCancel({ slot: "2030-01-31T09:00", confirmation: "ABC234" }).ok, true);
  assert.equal(checkCancel({ slot: "2030-01-31T09:00", confirmation: "abc234" }).ok, false);
  assert.equal(checkCancel({ slot: "bad", confirmation: "ABC234" }).ok, false);
});

Deno.test("demo booking: a slot is booked once, even by callers at the same moment", async () => {
  await withTempKv(async (kv) => {
    const booking = new DemoBooking(kv, () => 1_000);
    const day = "2030-01-31";
    assert.deepEqual(await booking.freeSlots(day), DEMO_TIMES.map((t) => `${day}T${t}`));
    const results = await Promise.all(
      ["Ada", "Grace", "Edsger"].map((name) => booking.book(`${day}T10:00`, name)),
    );
    const winners = results.filter((r) => r !== null);
    assert.equal(winners.length, 1);
    assert.equal(winners[0]?.bookedAt, 1_000);
    assert.match(winners[0]!.confirmation, /^[A-HJ-NP-Z2-9]{6}$/);
    assert.equal((await booking.freeSlots(day)).includes(`${day}T10:00`), false);
    assert.equal((await booking.freeSlots("2030-02-01")).length, DEMO_TIMES.length, "per day");
    // Another instance (another DemoBooking on the same KV) sees it.
    assert.equal((await new DemoBooking(kv).booking(`${day}T10:00`))?.name, winners[0]?.name);
  });
});

Deno.test("demo booking: cancelling needs the booking's confirmation code", async () => {
  await withTempKv(async (kv) => {
    const booking = new DemoBooking(kv);
    const slot = "2030-01-31T15:00";
    const booked = (await booking.book(slot, "Ada"))!;
    assert.equal(await booking.cancel(slot, "ZZZZZZ"), false);
    assert.equal(await booking.cancel("2030-01-31T16:00", booked.confirmation), false);
    assert.notEqual(await booking.booking(slot), null);
    assert.equal(await booking.cancel(slot, booked.confirmation), true);
    assert.equal(await booking.booking(slot), null);
    assert.equal(await booking.cancel(slot, booked.confirmation), false, "only once");
  });
});
