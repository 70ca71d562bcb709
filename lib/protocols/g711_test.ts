/**
 * The µ-law codec against G.711's reference values (the decoding table of ITU-T G.711 as Sun's
 * `g711.c` and ITU-T G.191's `g711demo` give it), its round trip, silence and the extremes; the
 * resampler on tones, across chunk seams; and the key tones built on the same encoder.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dtmfMulaw } from "./dtmf_tones.ts";
import {
  decodeMulaw,
  encodeMulaw,
  linearToMulaw,
  MULAW_SILENCE,
  mulawToLinear,
  Resampler,
} from "./g711.ts";

Deno.test("µ-law decodes to G.711's reference values", () => {
  // byte → linear, from the G.711 µ-law table (16-bit scale).
  const table: [number, number][] = [
    [0x00, -32124],
    [0x01, -31100],
    [0x0f, -16764],
    [0x10, -15996],
    [0x70, -120],
    [0x7e, -8],
    [0x7f, 0],
    [0x80, 32124],
    [0x8f, 16764],
    [0xcf, 924],
    [0xef, 132],
    [0xf0, 120],
    [0xfb, 32],
    [0xfe, 8],
    [0xff, 0],
  ];
  for (const [byte, linear] of table) {
    assert.equal(mulawToLinear(byte), linear, `0x${byte.toString(16)}`);
  }
});

Deno.test("µ-law encodes G.711's segment edges, silence and the extremes", () => {
  const cases: [number, number][] = [
    [0, 0xff],
    [-1, 0x7f],
    [1, 0xff],
    [8, 0xfe],
    [27, 0xfc],
    [28, 0xfb],
    [120, 0xf0],
    [132, 0xef],
    [32767, 0x80],
    [40000, 0x80],
    [-32768, 0x00],
    [-40000, 0x00],
    [16764, 0x8f],
    [-16764, 0x0f],
  ];
  for (const [linear, byte] of cases) {
    assert.equal(linearToMulaw(linear), byte, `${linear}`);
  }
  assert.equal(MULAW_SILENCE, linearToMulaw(0));
});

Deno.test("every µ-law byte survives a round trip (bar negative zero, which is zero)", () => {
  for (let byte = 0; byte < 256; byte++) {
    const back = linearToMulaw(mulawToLinear(byte));
    assert.equal(back, byte === 0x7f ? 0xff : byte, `0x${byte.toString(16)}`);
  }
});

Deno.test("a linear round trip stays within half a µ-law step", () => {
  for (let linear = -32000; linear <= 32000; linear += 7) {
    const back = mulawToLinear(linearToMulaw(linear));
    // The step doubles each segment: 8 at the centre up to 1024 at the top (±half of it).
    const step = Math.max(8, 2 ** Math.ceil(Math.log2((Math.abs(linear) + 132) / 16)));
    assert.ok(Math.abs(back - linear) <= step / 2 + 1, `${linear} → ${back} (step ${step})`);
  }
});

Deno.test("float samples encode and decode as Web Audio has them (−1…1)", () => {
  const samples = new Float32Array([0, 0.5, -0.5, 1, -1, 0.001]);
  const bytes = encodeMulaw(samples);
  assert.deepEqual([...bytes], [0xff, 0x8f, 0x0f, 0x80, 0x00, 0xfb]);
  const back = decodeMulaw(bytes);
  for (const [i, s] of samples.entries()) assert.ok(Math.abs(back[i] - s) < 0.02, `${i}`);
  assert.deepEqual([...decodeMulaw(new Uint8Array(4).fill(MULAW_SILENCE))], [0, 0, 0, 0]);
});

/** `ms` of a sine at `hz`, sampled at `rate`. */
function sine(hz: number, rate: number, ms: number): Float32Array {
  const out = new Float32Array(Math.round(rate * ms / 1000));
  for (let i = 0; i < out.length; i++) out[i] = 0.5 * Math.sin(2 * Math.PI * hz * i / rate);
  return out;
}

/** The amplitude of `hz` in `samples` (a single-bin DFT). */
function amplitude(samples: Float32Array, hz: number, rate: number): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < samples.length; i++) {
    re += samples[i] * Math.cos(2 * Math.PI * hz * i / rate);
    im += samples[i] * Math.sin(2 * Math.PI * hz * i / rate);
  }
  return 2 * Math.hypot(re, im) / samples.length;
}

Deno.test("48 kHz → 8 kHz keeps a voice-band tone and the length, in chunks of 128", () => {
  const input = sine(440, 48000, 1000);
  const resampler = new Resampler(48000, 8000);
  const parts: Float32Array[] = [];
  for (let i = 0; i < input.length; i += 128) {
    parts.push(resampler.push(input.subarray(i, i + 128)));
  }
  const out = Float32Array.from(parts.flatMap((p) => [...p]));
  assert.equal(out.length, 8000);
  const kept = amplitude(out.subarray(800), 440, 8000);
  assert.ok(kept > 0.45 && kept < 0.51, `440 Hz kept at ${kept}`);
  // 7 kHz would fold onto 1 kHz: the average before the decimation holds it well down.
  const folded = new Resampler(48000, 8000).push(sine(7000, 48000, 1000));
  assert.ok(amplitude(folded, 1000, 8000) < 0.1, "7 kHz mostly filtered out");
});

Deno.test("8 kHz → 48 kHz interpolates with no seam between chunks", () => {
  const input = sine(300, 8000, 500);
  const whole = new Resampler(8000, 48000).push(input);
  const chunked = new Resampler(8000, 48000);
  const parts: number[] = [];
  for (let i = 0; i < input.length; i += 160) {
    parts.push(...chunked.push(input.subarray(i, i + 160)));
  }
  assert.equal(whole.length, parts.length);
  for (let i = 0; i < parts.length; i++) assert.ok(Math.abs(whole[i] - parts[i]) < 1e-6, `${i}`);
  assert.ok(Math.abs(whole.length - 24000) <= 6, `${whole.length} samples`);
  const kept = amplitude(whole, 300, 48000);
  assert.ok(kept > 0.49 && kept < 0.51, `300 Hz kept at ${kept}`);
  assert.throws(() => new Resampler(0, 8000), /sample rates must be positive/);
});

Deno.test("the key tones are made with the same encoder: 1 is 697 + 1209 Hz", () => {
  const tones = dtmfMulaw("1");
  assert.equal(tones.length, 1600);
  const tone = decodeMulaw(tones.subarray(0, 800));
  for (const hz of [697, 1209]) {
    assert.ok(amplitude(tone, hz, 8000) > 0.2, `${hz} Hz present`);
  }
  assert.ok(amplitude(tone, 941, 8000) < 0.05, "no 941 Hz");
  assert.ok(tones.subarray(800).every((b) => b === MULAW_SILENCE), "then silence");
});
