/** The hold of caller audio: bounded, in order, handed over whole, and prepended within the cap. */

import assert from "node:assert/strict";
import { HeldAudio, MAX_PENDING_FRAMES } from "./held_audio.ts";

Deno.test("the hold is 15 s of 20 ms frames", () => {
  assert.equal(MAX_PENDING_FRAMES * 20, 15_000);
});

Deno.test("frames are held in order up to the cap; past it they are refused", () => {
  const held = new HeldAudio();
  for (let i = 0; i < MAX_PENDING_FRAMES; i++) assert.equal(held.push(`f${i}`), true);
  assert.equal(held.push("late"), false);
  assert.equal(held.size, MAX_PENDING_FRAMES);
  const taken = held.take();
  assert.equal(taken[0], "f0");
  assert.equal(taken.at(-1), `f${MAX_PENDING_FRAMES - 1}`);
  assert.equal(held.size, 0);
  assert.deepEqual(held.take(), []);
});

Deno.test("frames from another session go first, and the newest within the cap are kept", () => {
  const held = new HeldAudio();
  held.push("mine");
  held.prepend(["a", "b"]);
  assert.deepEqual(held.take(), ["a", "b", "mine"]);
  const full = Array.from({ length: MAX_PENDING_FRAMES }, (_, i) => `o${i}`);
  held.push("mine");
  held.prepend(full);
  const kept = held.take();
  assert.equal(kept.length, MAX_PENDING_FRAMES);
  assert.equal(kept[0], "o1");
  assert.equal(kept.at(-1), "mine");
  held.push("x");
  held.clear();
  assert.equal(held.size, 0);
});
