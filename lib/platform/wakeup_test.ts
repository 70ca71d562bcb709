/** The wake-up of waiting loops: woken early, timed out, and a wake with nobody waiting kept. */

import assert from "node:assert/strict";
import { Wakeup } from "./wakeup.ts";

Deno.test("a wake ends the wait early with false; the timeout ends it with true", async () => {
  const wakeup = new Wakeup();
  const woken = wakeup.wait(60_000);
  wakeup.wake();
  assert.equal(await woken, false);
  assert.equal(await wakeup.wait(1), true);
});

Deno.test("a wake with nobody waiting is kept for the next wait, once", async () => {
  const wakeup = new Wakeup();
  wakeup.wake();
  wakeup.wake();
  assert.equal(await wakeup.wait(60_000), false);
  assert.equal(await wakeup.wait(1), true);
});
