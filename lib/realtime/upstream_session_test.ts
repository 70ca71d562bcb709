/**
 * reseedItems, the conversation a new session starts with after a reconnect or renewal: every
 * line in order as a `conversation.item.create` (caller → user `input_text`, agent → assistant
 * `output_text`), an interrupted agent line cut to the share of its characters the caller heard
 * (heardMs / audioMs, rounded), and lines with no text left out. No socket is opened.
 */

import assert from "node:assert/strict";
import type { TranscriptEntry } from "../calls/call_types.ts";
import { reseedItems } from "./upstream_session.ts";

/** The item a new session must get for a caller line. */
function user(text: string) {
  return {
    type: "conversation.item.create",
    item: { type: "message", role: "user", content: [{ type: "input_text", text }] },
  };
}

/** The item a new session must get for an agent line. */
function assistant(text: string) {
  return {
    type: "conversation.item.create",
    item: { type: "message", role: "assistant", content: [{ type: "output_text", text }] },
  };
}

const caller = (text: string): TranscriptEntry => ({ role: "caller", text, at: 0 });
const agent = (text: string, cut: Partial<TranscriptEntry> = {}): TranscriptEntry => ({
  role: "agent",
  text,
  at: 0,
  ...cut,
});

const reseeded = (transcript: TranscriptEntry[]) =>
  reseedItems(transcript).map((f) => JSON.parse(f));

/** 47 characters. */
const BOOKED = "Your table for four is booked at eight tonight.";

Deno.test("no conversation yet: nothing to re-seed", () => {
  assert.deepEqual(reseedItems([]), []);
});

Deno.test("every line in order: caller as user input_text, agent as assistant output_text", () => {
  assert.deepEqual(
    reseeded([
      agent("Hello, how can I help?", { audioMs: 1800 }),
      caller("I'd like a table for four."),
      agent(BOOKED, { audioMs: 3200 }),
      caller("Thanks, bye."),
    ]),
    [
      assistant("Hello, how can I help?"),
      user("I'd like a table for four."),
      assistant(BOOKED),
      user("Thanks, bye."),
    ],
  );
});

Deno.test("an interrupted agent line keeps the share of its characters the caller heard", () => {
  // 960 of 2400 ms heard: 47 × 0.4 = 18.8 → 19 characters.
  assert.deepEqual(reseeded([agent(BOOKED, { interrupted: true, heardMs: 960, audioMs: 2400 })]), [
    assistant("Your table for four"),
  ]);
  // 27 characters, half heard: 13.5 rounds up to 14.
  const half = agent("Sure, I can help with that.", {
    interrupted: true,
    heardMs: 500,
    audioMs: 1000,
  });
  assert.deepEqual(reseeded([half]), [assistant("Sure, I can he")]);
  // The line after the cut-in follows it as it was.
  const next = caller("No, for six.");
  assert.deepEqual(reseeded([half, next]), [assistant("Sure, I can he"), user("No, for six.")]);
});

Deno.test("an agent line cut in on before any of it was heard is left out", () => {
  assert.deepEqual(reseeded([agent(BOOKED, { interrupted: true, heardMs: 0, audioMs: 2400 })]), []);
  // heardMs unknown counts as nothing heard.
  assert.deepEqual(reseeded([agent(BOOKED, { interrupted: true, audioMs: 2400 })]), []);
  // 10 of 2400 ms: 47 × 10 / 2400 ≈ 0.2 → no character.
  assert.deepEqual(
    reseeded([agent(BOOKED, { interrupted: true, heardMs: 10, audioMs: 2400 })]),
    [],
  );
});

Deno.test("the whole text: all heard, not interrupted, or no audio length to cut by", () => {
  const whole = [assistant(BOOKED)];
  assert.deepEqual(
    reseeded([agent(BOOKED, { interrupted: true, heardMs: 2400, audioMs: 2400 })]),
    whole,
  );
  assert.deepEqual(reseeded([agent(BOOKED, { heardMs: 100, audioMs: 2400 })]), whole);
  assert.deepEqual(reseeded([agent(BOOKED, { interrupted: true, heardMs: 100 })]), whole);
  assert.deepEqual(
    reseeded([agent(BOOKED, { interrupted: true, heardMs: 100, audioMs: 0 })]),
    whole,
  );
});

Deno.test("lines without text (no transcription came) are left out; key presses are kept", () => {
  assert.deepEqual(
    reseeded([
      caller(""),
      agent("   "),
      caller("[The caller pressed the keys: 4 2]"),
      agent("\n"),
    ]),
    [user("[The caller pressed the keys: 4 2]")],
  );
});
