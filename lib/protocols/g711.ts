/**
 * G.711 µ-law, the audio of every Media Stream (8 kHz mono, one byte a sample), and the
 * resampler that takes audio between 8 kHz and a browser's rate. Written once, pure and free of
 * runtime APIs: the realtime path's key tones (`dtmf_tones.ts`) and the voice simulator's audio
 * worklet (`islands/voice_worklet.ts`, bundled for the browser) both use it.
 *
 * The encoder is ITU-T G.711's µ-law (the segment search of its reference code, on 14-bit
 * magnitudes biased by 33, as Sun's `g711.c` writes it on 16-bit samples biased by 0x84), with
 * the bits inverted as sent on the wire: 0xFF is the zero sample, 0x00 the loudest negative.
 *
 * @module
 */

/** The sample rate of Media Streams audio. */
export const MULAW_RATE = 8000;
/** µ-law of a zero sample: what silence is made of. */
export const MULAW_SILENCE = 0xff;
/** The loudest 16-bit sample µ-law keeps (larger ones clip to it). */
const CLIP = 32635;
const BIAS = 0x84;

/** G.711 µ-law encoding of one 16-bit linear sample (rounded, clipped to ±32635). */
export function linearToMulaw(sample: number): number {
  let s = Math.max(-CLIP, Math.min(CLIP, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** G.711 µ-law decoding of one byte to its 16-bit linear sample (±32124 at most). */
export function mulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + BIAS) << exponent) - BIAS;
  return u & 0x80 ? 0 - magnitude : magnitude; // (0 - 0 is +0: negative zero is zero)
}

/** Encodes float samples (−1…1, as Web Audio has them) as µ-law bytes. */
export function encodeMulaw(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = linearToMulaw(samples[i] * 32768);
  return out;
}

/** Decodes µ-law bytes to float samples (−1…1). */
export function decodeMulaw(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = mulawToLinear(bytes[i]) / 32768;
  return out;
}

/**
 * Streaming sample-rate conversion of one channel, chunk by chunk with no seam between chunks:
 * linear interpolation between input samples, after (when it lowers the rate) a moving average
 * over one output period, which keeps most of what lies above the new Nyquist frequency out.
 * The output is as long as the input lasts: `n` input samples give about `n × to / from`.
 */
export class Resampler {
  readonly #step: number;
  readonly #window: number;
  /** Position of the next output sample, in input samples since the previous chunk's last one. */
  #position = 0;
  /** The previous chunk's last (filtered) sample, where interpolation continues from. */
  #last = 0;
  /** The moving average's most recent inputs and their sum. */
  readonly #history: Float32Array;
  #sum = 0;
  #head = 0;

  constructor(readonly from: number, readonly to: number) {
    if (!(from > 0) || !(to > 0)) throw new Error(`sample rates must be positive: ${from}→${to}`);
    this.#step = from / to;
    this.#window = this.#step > 1 ? Math.round(this.#step) : 1;
    this.#history = new Float32Array(this.#window);
    this.#position = this.#step > 1 ? this.#step - 1 : 0;
  }

  /** Converts the next chunk of input; returns the output samples it completes. */
  push(input: Float32Array): Float32Array {
    const filtered = this.#window > 1 ? this.#average(input) : input;
    const out: number[] = [];
    // Output sample k lies at input position p (−1 = the previous chunk's last sample).
    let p = this.#position;
    while (p <= filtered.length - 1) {
      const i = Math.floor(p);
      const frac = p - i;
      const a = i < 0 ? this.#last : filtered[i];
      const b = filtered[i + 1] ?? a;
      out.push(a + (b - a) * frac);
      p += this.#step;
    }
    if (filtered.length > 0) this.#last = filtered[filtered.length - 1];
    this.#position = p - filtered.length;
    return Float32Array.from(out);
  }

  #average(input: Float32Array): Float32Array {
    const out = new Float32Array(input.length);
    const n = this.#window;
    for (let i = 0; i < input.length; i++) {
      this.#sum += input[i] - this.#history[this.#head];
      this.#history[this.#head] = input[i];
      this.#head = (this.#head + 1) % n;
      out[i] = this.#sum / n;
    }
    return out;
  }
}
