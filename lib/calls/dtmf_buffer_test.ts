/**
 * DtmfBuffer debounces key presses on the clock: `due` runs `debounceMs` after the last press,
 * at once on `#` or when MAX_DTMF_DIGITS are waiting; `take` empties the buffer and its timer,
 * `stop` drops both. dtmfTurn spells the keys out for the model.
 */

import assert from "node:assert/strict";
import { FakeClock } from "../../tests/helpers/fake_clock.ts";
import { DtmfBuffer, dtmfSummary, dtmfTurn, MAX_DTMF_DIGITS } from "./dtmf_buffer.ts";

const DEBOUNCE_MS = 1200;

/** A buffer on a fake clock whose `due` takes the keys into `turns`. */
function buffer(options: { take?: boolean } = {}) {
  const clock = new FakeClock();
  const turns: string[] = [];
  let dues = 0;
  const dtmf: DtmfBuffer = new DtmfBuffer(clock, DEBOUNCE_MS, () => {
    dues++;
    if (options.take ?? true) turns.push(dtmf.take());
  });
  return { clock, dtmf, turns, dues: () => dues };
}

Deno.test("a press is due debounceMs later, not before", () => {
  const { clock, dtmf, turns } = buffer();
  assert.equal(dtmf.pending, false);
  dtmf.press("5");
  assert.equal(dtmf.pending, true);
  assert.equal(clock.scheduledFor(DEBOUNCE_MS), 1);
  clock.tick(DEBOUNCE_MS - 1);
  assert.deepEqual(turns, []);
  clock.tick(1);
  assert.deepEqual(turns, ["5"]);
  assert.equal(dtmf.pending, false);
  assert.equal(clock.pending, 0);
});

Deno.test("presses closer than debounceMs are one turn, due after the last of them", () => {
  const { clock, dtmf, turns, dues } = buffer();
  dtmf.press("1");
  clock.tick(DEBOUNCE_MS - 1);
  dtmf.press("2");
  clock.tick(DEBOUNCE_MS - 1);
  dtmf.press("3");
  // One timer at a time: each press restarts it.
  assert.equal(clock.pending, 1);
  clock.tick(DEBOUNCE_MS - 1);
  assert.deepEqual(turns, []);
  clock.tick(1);
  assert.deepEqual(turns, ["123"]);
  assert.equal(dues(), 1);
});

Deno.test("presses further apart than debounceMs are separate turns", () => {
  const { clock, dtmf, turns } = buffer();
  dtmf.press("1");
  clock.tick(DEBOUNCE_MS);
  dtmf.press("2");
  clock.tick(DEBOUNCE_MS);
  assert.deepEqual(turns, ["1", "2"]);
});

Deno.test("# is due at once, with the keys before it and itself, and no timer left", () => {
  const { clock, dtmf, turns } = buffer();
  dtmf.press("4");
  dtmf.press("2");
  dtmf.press("#");
  assert.deepEqual(turns, ["42#"]);
  assert.equal(clock.pending, 0);
  clock.tick(DEBOUNCE_MS * 2);
  assert.deepEqual(turns, ["42#"]);
});

Deno.test("* is an ordinary key: it waits for the debounce", () => {
  const { clock, dtmf, turns } = buffer();
  dtmf.press("*");
  assert.deepEqual(turns, []);
  clock.tick(DEBOUNCE_MS);
  assert.deepEqual(turns, ["*"]);
});

Deno.test("MAX_DTMF_DIGITS waiting presses are due at once", () => {
  const { clock, dtmf, turns } = buffer();
  for (let i = 0; i < MAX_DTMF_DIGITS - 1; i++) dtmf.press(String(i % 10));
  assert.equal(turns.length, 0);
  dtmf.press("9");
  const keys = "0123456789".repeat(4).slice(0, MAX_DTMF_DIGITS - 1) + "9";
  assert.deepEqual(turns, [keys]);
  assert.equal(turns[0].length, 32, "the cap is 32 keys");
  assert.equal(clock.pending, 0);
});

Deno.test("a full buffer that is not taken is due at every further press, which it drops", () => {
  const { clock, dtmf, dues } = buffer({ take: false });
  for (let i = 0; i < MAX_DTMF_DIGITS; i++) dtmf.press("1");
  assert.equal(dues(), 1);
  dtmf.press("2");
  dtmf.press("3");
  assert.equal(dues(), 3);
  assert.equal(clock.pending, 0);
  assert.equal(dtmf.take(), "1".repeat(MAX_DTMF_DIGITS), "presses past the cap are dropped");
});

Deno.test("take returns the waiting presses, empties the buffer and cancels the timer", () => {
  const { clock, dtmf, turns } = buffer();
  dtmf.press("7");
  dtmf.press("8");
  assert.equal(dtmf.take(), "78");
  assert.equal(dtmf.pending, false);
  assert.equal(clock.pending, 0);
  clock.tick(DEBOUNCE_MS);
  assert.deepEqual(turns, []);
  assert.equal(dtmf.take(), "");
});

Deno.test("stop drops the waiting presses and the timer", () => {
  const { clock, dtmf, turns } = buffer();
  dtmf.press("1");
  dtmf.stop();
  assert.equal(dtmf.pending, false);
  assert.equal(clock.pending, 0);
  clock.tick(DEBOUNCE_MS);
  assert.deepEqual(turns, []);
  assert.equal(dtmf.take(), "");
});

Deno.test("dtmfTurn spells the keys out one by one for the model", () => {
  assert.equal(dtmfTurn("5"), "[The caller pressed the keys: 5]");
  assert.equal(dtmfTurn("12*#"), "[The caller pressed the keys: 1 2 * #]");
  assert.equal(dtmfTurn(""), "[The caller pressed the keys: ]");
});

Deno.test("dtmfSummary: how many keys, singular for one, and never which", () => {
  assert.equal(dtmfSummary("7"), "1 key pressed");
  assert.equal(dtmfSummary("12"), "2 keys pressed");
  assert.equal(dtmfSummary("1234#"), "5 keys pressed");
  assert.doesNotMatch(dtmfSummary("1234#"), /1234/);
});
