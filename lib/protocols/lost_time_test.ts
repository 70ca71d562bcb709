import assert from "node:assert/strict";
import { LostTime } from "./lost_time.ts";

// Web Audio's render quantum is 128 samples; the reference is the first 64 quanta.
const RATE = 48_000;
const QUANTUM_MS = 128 * 1000 / RATE; // 2.666… ms

/**
 * Renders `quanta` quanta as a device does: `perCallback` of them at once, at the callback's
 * wall time, the callbacks `QUANTUM_MS * perCallback` apart from `from`; returns the last lost.
 */
function render(lost: LostTime, quanta: number, options: { from: number; perCallback: number }) {
  let result = 0;
  for (let i = 0; i < quanta; i++) {
    const callback = Math.floor(i / options.perCallback);
    result = lost.rendered(options.from + callback * options.perCallback * QUANTUM_MS);
  }
  return result;
}

Deno.test("lost time: a thread that keeps time loses none, however it bursts", () => {
  for (const perCallback of [1, 4, 8]) {
    const lost = new LostTime(RATE);
    assert.equal(render(lost, 2_000, { from: 1_000, perCallback }), 0, `${perCallback} a call`);
  }
});

Deno.test("lost time: a skipped callback is lost for good, by its length", () => {
  const lost = new LostTime(RATE);
  const perCallback = 4;
  const callbackMs = perCallback * QUANTUM_MS;
  render(lost, 200, { from: 0, perCallback });
  assert.equal(lost.lostMs, 0);
  // The next callback comes three callbacks late: those three were skipped, not caught up.
  const resumed = 200 / perCallback * callbackMs + 3 * callbackMs;
  assert.ok(Math.abs(render(lost, 200, { from: resumed, perCallback }) - 3 * callbackMs) < 1e-9);
  // It keeps time again: nothing more is lost, nothing is given back.
  const later = resumed + 200 / perCallback * callbackMs;
  assert.ok(Math.abs(render(lost, 200, { from: later, perCallback }) - 3 * callbackMs) < 1e-9);
});

Deno.test("lost time: only falling behind the first quanta's worst counts", () => {
  const lost = new LostTime(RATE);
  // The 64 reference quanta: the 11th 5 ms late (the device settling), the 64th 1 ms late.
  const late = (i: number) => i === 10 ? 5 : i === 63 ? 1 : 0;
  for (let i = 0; i < 64; i++) lost.rendered(i * QUANTUM_MS + late(i));
  assert.equal(lost.lostMs, 0, "nothing counts while the reference is learned");
  // After it: 4 ms late is within the reference; 7 ms late is 2 ms lost.
  assert.equal(lost.rendered(64 * QUANTUM_MS + 4), 0);
  assert.ok(Math.abs(lost.rendered(65 * QUANTUM_MS + 7) - 2) < 1e-9);
  // Back on time: what was lost stays.
  assert.ok(Math.abs(lost.rendered(66 * QUANTUM_MS) - 2) < 1e-9);
});

Deno.test("lost time: the 65th quantum is the first that can lose time", () => {
  const lost = new LostTime(RATE);
  for (let i = 0; i < 64; i++) lost.rendered(i * QUANTUM_MS);
  assert.equal(lost.rendered(64 * QUANTUM_MS + 3), 3, "the first quantum after the reference");
  const early = new LostTime(RATE);
  for (let i = 0; i < 63; i++) early.rendered(i * QUANTUM_MS);
  assert.equal(early.rendered(63 * QUANTUM_MS + 3), 0, "the 64th is still the reference");
});

Deno.test("lost time: the quantum's length follows the sample rate", () => {
  const lost = new LostTime(44_100);
  const quantumMs = 128 * 1000 / 44_100;
  for (let i = 0; i <= 64; i++) lost.rendered(i * quantumMs);
  assert.equal(lost.lostMs, 0);
  // 10 ms later than a 44.1 kHz quantum would be (a 48 kHz one would be 0.24 ms shorter).
  const at = 65 * quantumMs + 10;
  assert.ok(Math.abs(lost.rendered(at) - 10) < 1e-9);
});
