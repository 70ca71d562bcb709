/**
 * BadFrames counts every dropped frame and logs, as a warning under its event name with the
 * error, the count and the caller's fields, the first ten one by one and then every thousandth,
 * through the call's logger as it is at the time of each line.
 */

import assert from "node:assert/strict";
import type { LogLevel } from "../platform/config.ts";
import { Logger } from "../platform/log.ts";
import { BadFrames } from "./bad_frames.ts";

/** A logger whose lines are parsed into `lines` (without their time stamp). */
function capture(level: LogLevel = "debug", fields: Record<string, unknown> = {}) {
  const lines: Record<string, unknown>[] = [];
  const log = new Logger(level, fields, (line, lineLevel) => {
    const { time, ...rest } = JSON.parse(line);
    assert.equal(typeof time, "string");
    assert.equal(rest.level, lineLevel);
    lines.push(rest);
  });
  return { log, lines };
}

Deno.test("a dropped frame is counted and logged as a warning with its error and count", () => {
  const { log, lines } = capture("debug", { sessionId: "s1" });
  const bad = new BadFrames(() => log, "relay.frame_dropped");
  bad.drop("not JSON");
  assert.equal(bad.count, 1);
  assert.deepEqual(lines, [
    { level: "warn", event: "relay.frame_dropped", sessionId: "s1", error: "not JSON", count: 1 },
  ]);
});

Deno.test("the caller's fields are logged, but error and count are the drop's own", () => {
  const { log, lines } = capture();
  const bad = new BadFrames(() => log, "realtime.frame_dropped");
  bad.drop("bad event", { source: "openai", error: "theirs", count: 99 });
  assert.deepEqual(lines, [
    {
      level: "warn",
      event: "realtime.frame_dropped",
      source: "openai",
      error: "bad event",
      count: 1,
    },
  ]);
});

Deno.test("the first ten drops are logged one by one, then only every thousandth", () => {
  const { log, lines } = capture();
  const bad = new BadFrames(() => log, "relay.frame_dropped");
  for (let i = 0; i < 3000; i++) bad.drop("junk");
  assert.equal(bad.count, 3000);
  assert.deepEqual(
    lines.map((line) => line.count),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1000, 2000, 3000],
  );
  bad.drop("junk");
  assert.equal(lines.length, 13);
});

Deno.test("drop 11 and drop 999 are counted but not logged", () => {
  const { log, lines } = capture();
  const bad = new BadFrames(() => log, "relay.frame_dropped");
  for (let i = 0; i < 11; i++) bad.drop("junk");
  assert.equal(lines.length, 10);
  for (let i = 11; i < 999; i++) bad.drop("junk");
  assert.equal(bad.count, 999);
  assert.equal(lines.length, 10);
  bad.drop("junk");
  assert.equal(lines.length, 11);
});

Deno.test("each line goes through the logger as it is then (it gains the call SID)", () => {
  const { log, lines } = capture("debug", { sessionId: "s1" });
  let current = log;
  const bad = new BadFrames(() => current, "relay.frame_dropped");
  bad.drop("early");
  current = log.child({ callSid: "CA1" });
  bad.drop("late");
  assert.deepEqual(lines, [
    { level: "warn", event: "relay.frame_dropped", sessionId: "s1", error: "early", count: 1 },
    {
      level: "warn",
      event: "relay.frame_dropped",
      sessionId: "s1",
      callSid: "CA1",
      error: "late",
      count: 2,
    },
  ]);
});

Deno.test("the logger is only asked for when a line is due", () => {
  const { log } = capture();
  let asked = 0;
  const bad = new BadFrames(() => (asked++, log), "relay.frame_dropped");
  for (let i = 0; i < 1000; i++) bad.drop("junk");
  assert.equal(asked, 11);
});

Deno.test("a logger above warn level writes nothing, and the drops are still counted", () => {
  const { log, lines } = capture("error");
  const bad = new BadFrames(() => log, "relay.frame_dropped");
  for (let i = 0; i < 5; i++) bad.drop("junk");
  assert.equal(bad.count, 5);
  assert.deepEqual(lines, []);
});

Deno.test("each call's BadFrames counts its own drops", () => {
  const { log, lines } = capture();
  const one = new BadFrames(() => log, "relay.frame_dropped");
  const two = new BadFrames(() => log, "relay.frame_dropped");
  for (let i = 0; i < 12; i++) one.drop("junk");
  two.drop("junk");
  assert.equal(one.count, 12);
  assert.equal(two.count, 1);
  assert.deepEqual(lines.map((line) => line.count), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1]);
});
