/**
 * What reading one Twilio `media` frame costs, in the same run: the fast path (a frame in the
 * field order Twilio writes, read without building the JSON object) against the full parser (the
 * same frame with its fields in another order, which is what every real frame cost before the
 * fast path matched Twilio's order).
 * Usage: deno run bench/parse_bench.ts [--quick] [--frames 200000] [--rounds 5]
 */

import { parseMediaStreamMessage } from "../lib/protocols/media_streams.ts";
import { hotFrameBuilders } from "../tests/fakes/twilio_frames.ts";
import { benchOptions } from "./bench_options.ts";

const options = benchOptions({
  frames: { full: 200_000, quick: 20_000 },
  rounds: { full: 5, quick: 2 },
});
const FRAMES = options.frames;
const ROUNDS = options.rounds;

const payload = btoa(String.fromCharCode(...Array.from({ length: 160 }, (_, i) => i & 0xff)));
const build = hotFrameBuilders("MZ00000000000000000000000000000001").media;
const docsOrder = Array.from({ length: 1000 }, (_, i) => build(i + 2, i + 1, i * 20, payload));
/** The same frames with `streamSid` before `media`: only the full parser reads them. */
const otherOrder = docsOrder.map((frame) => {
  const { event, sequenceNumber, media, streamSid } = JSON.parse(frame);
  return JSON.stringify({ event, sequenceNumber, streamSid, media });
});

function nsPerFrame(frames: string[]): number {
  let sink = 0;
  const started = performance.now();
  for (let i = 0; i < FRAMES; i++) {
    const parsed = parseMediaStreamMessage(frames[i % frames.length]);
    if (parsed.ok && parsed.message.event === "media") sink += parsed.message.timestamp;
  }
  const ns = ((performance.now() - started) * 1e6) / FRAMES;
  if (sink < 0) console.log(sink);
  return ns;
}

nsPerFrame(docsOrder); // warm-up
nsPerFrame(otherOrder);
const fast: number[] = [];
const full: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  fast.push(nsPerFrame(docsOrder));
  full.push(nsPerFrame(otherOrder));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`media frame parse, ${FRAMES} frames × ${ROUNDS} rounds (median):`);
console.log(`  fast path (Twilio's field order): ${median(fast).toFixed(0)} ns/frame`);
console.log(`  full parser (reference):          ${median(full).toFixed(0)} ns/frame`);
console.log(
  `  at 200 calls × 50 frames/s: ${(median(fast) * 10_000 / 1e7).toFixed(2)} % vs ${
    (median(full) * 10_000 / 1e7).toFixed(2)
  } % of one core`,
);
