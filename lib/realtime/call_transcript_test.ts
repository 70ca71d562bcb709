/**
 * CallTranscript: one line per conversation item, created in the order items are first seen and
 * stamped with the clock then, the same line found again when its text or cut-in comes later; a
 * line with no item (a key press) added and saved at once; nothing saved before the call's
 * record exists. The clock is a FakeClock; the record a stub that keeps what it is given.
 */

import assert from "node:assert/strict";
import { FakeClock } from "../../tests/helpers/fake_clock.ts";
import type { TranscriptEntry } from "../calls/call_types.ts";
import type { CallRecorder } from "../records/call_recorder.ts";
import { CallTranscript } from "./call_transcript.ts";

function setup() {
  const clock = new FakeClock();
  const saved: TranscriptEntry[] = [];
  const recorder = {
    transcript: (entry: TranscriptEntry) => void saved.push(entry),
  } as unknown as CallRecorder;
  const call = { record: null as CallRecorder | null };
  const transcript = new CallTranscript(clock, () => call.record);
  return { clock, saved, recorder, call, transcript };
}

Deno.test("of: a line per item, in the order first seen, stamped then; found again later", () => {
  const { clock, transcript } = setup();
  const t0 = clock.now();
  const agent = transcript.of("agent", "item_a");
  clock.tick(1500);
  const caller = transcript.of("caller", "item_c");
  clock.tick(200);
  assert.equal(transcript.of("agent", "item_a"), agent); // the same line, not a new one
  agent.text = "Hello, how can I help?";
  assert.deepEqual(transcript.entries, [
    { role: "agent", text: "Hello, how can I help?", at: t0, itemId: "item_a" },
    { role: "caller", text: "", at: t0 + 1500, itemId: "item_c" },
  ]);
  assert.equal(transcript.entries[1], caller);
});

Deno.test("of without an item id: a new line each time", () => {
  const { transcript } = setup();
  const first = transcript.of("caller", "");
  const second = transcript.of("caller", "");
  assert.notEqual(first, second);
  assert.equal(transcript.entries.length, 2);
});

Deno.test("item: the line of an item seen, undefined for one never seen", () => {
  const { transcript } = setup();
  const line = transcript.of("agent", "item_a");
  assert.equal(transcript.item("item_a"), line);
  assert.equal(transcript.item("item_b"), undefined);
});

Deno.test("of saves nothing; add saves the new line at once; save saves a line again", () => {
  const { clock, saved, recorder, call, transcript } = setup();
  call.record = recorder;
  const agent = transcript.of("agent", "item_a");
  assert.deepEqual(saved, []);
  clock.tick(300);
  const keys = transcript.add("caller", "[The caller pressed the keys: 4 2]");
  assert.deepEqual(keys, {
    role: "caller",
    text: "[The caller pressed the keys: 4 2]",
    at: clock.now(),
  });
  assert.deepEqual(transcript.entries, [agent, keys]);
  agent.interrupted = true;
  transcript.save(agent);
  transcript.save(agent);
  assert.equal(saved.length, 3);
  assert.equal(saved[0], keys);
  assert.equal(saved[1], agent);
  assert.equal(saved[2], agent);
});

Deno.test("before the call's record exists, lines are kept but not saved", () => {
  const { saved, recorder, call, transcript } = setup();
  const keys = transcript.add("caller", "[The caller pressed the keys: 1]");
  transcript.save(keys);
  assert.deepEqual(transcript.entries, [keys]);
  call.record = recorder;
  transcript.save(keys);
  assert.deepEqual(saved, [keys]);
});
