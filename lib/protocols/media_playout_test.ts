/**
 * The simulator's playout queue plays Twilio's part: audio in order, a mark echoed when playout
 * reaches it (at once with nothing before it), `clear` dropping the audio and echoing the
 * pending marks at once.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PlayoutQueue } from "./media_playout.ts";

const ramp = (from: number, n: number) => Float32Array.from({ length: n }, (_, i) => from + i);

Deno.test("audio plays in order across pulls, then silence", () => {
  const queue = new PlayoutQueue();
  queue.enqueue(ramp(1, 3));
  queue.enqueue(ramp(4, 3));
  assert.equal(queue.queued, 6);
  const out = new Float32Array(4);
  assert.deepEqual(queue.pull(out), { marks: [], played: 4 });
  assert.deepEqual([...out], [1, 2, 3, 4]);
  assert.deepEqual(queue.pull(out), { marks: [], played: 2 });
  assert.deepEqual([...out], [5, 6, 0, 0]);
  assert.equal(queue.queued, 0);
});

Deno.test("a mark is echoed when playout reaches it, not before", () => {
  const queue = new PlayoutQueue();
  queue.enqueue(ramp(1, 5));
  queue.mark("a");
  queue.enqueue(ramp(6, 5));
  queue.mark("b");
  const out = new Float32Array(4);
  assert.deepEqual(queue.pull(out).marks, []);
  assert.deepEqual(queue.pull(out).marks, ["a"]); // sample 5 played in this pull
  assert.deepEqual(queue.pull(out), { marks: ["b"], played: 2 });
});

Deno.test("a mark with nothing queued before it is echoed at the next pull", () => {
  const queue = new PlayoutQueue();
  queue.mark("alone");
  assert.deepEqual(queue.pull(new Float32Array(128)), { marks: ["alone"], played: 0 });
  assert.deepEqual(queue.pull(new Float32Array(128)).marks, []);
});

Deno.test("clear drops the queued audio and hands back every pending mark at once", () => {
  const queue = new PlayoutQueue();
  queue.enqueue(ramp(1, 4));
  queue.mark("a");
  queue.enqueue(ramp(5, 4));
  queue.mark("b");
  const out = new Float32Array(2);
  queue.pull(out);
  assert.deepEqual(queue.clear(), ["a", "b"]);
  assert.equal(queue.queued, 0);
  assert.deepEqual(queue.pull(out), { marks: [], played: 0 });
  assert.deepEqual([...out], [0, 0]);
  // After a clear the queue plays on as before.
  queue.enqueue(ramp(9, 1));
  queue.mark("c");
  assert.deepEqual(queue.pull(out), { marks: ["c"], played: 1 });
});
