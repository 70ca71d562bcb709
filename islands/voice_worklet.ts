/**
 * The voice simulator's AudioWorklet (bundled by `deno task build` into
 * `static/islands/voice_worklet.js`, loaded with `audioWorklet.addModule`): it plays both of
 * Twilio's audio roles on the audio thread, sample-accurate.
 *
 * - **Microphone to frames.** Input is resampled to 8 kHz, encoded as µ-law and posted as
 *   160-byte (20 ms) frames with their level; muted, the frames are silence (as a muted phone's).
 *   Each frame also carries how much time this thread has lost so far (`LostTime`), which the
 *   page adds to its timestamp, so the stream's clock stays real time as Twilio's does.
 * - **Playback.** The page posts the service's µ-law chunks and marks in arrival order; they are
 *   decoded, resampled to the context's rate and queued ({@link PlayoutQueue}); each mark is
 *   posted back when playout reaches it, and `clear` drops the queue and posts the pending marks
 *   at once, with how much agent audio has played so far.
 *
 * @module
 */

import {
  decodeMulaw,
  encodeMulaw,
  MULAW_RATE,
  MULAW_SILENCE,
  Resampler,
} from "../lib/protocols/g711.ts";
import { LostTime } from "../lib/protocols/lost_time.ts";
import { PlayoutQueue } from "../lib/protocols/media_playout.ts";

// The AudioWorkletGlobalScope's names (no TypeScript lib declares them).
declare const sampleRate: number;
declare function registerProcessor(name: string, processor: unknown): void;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}

/** The processor's name (`voice_call.ts` names it too: a module with a side effect cannot be
 * imported for its values there). */
const VOICE_PROCESSOR = "callbridge-voice";
/** One Media Streams frame: 20 ms at 8 kHz. */
const FRAME_SAMPLES = 160;

/** What the page posts to the worklet. */
export type ToWorklet =
  | { type: "media"; bytes: Uint8Array }
  | { type: "mark"; name: string }
  | { type: "clear" }
  | { type: "mute"; muted: boolean };

/** What the worklet posts to the page. */
export type FromWorklet =
  /**
   * 20 ms of the caller's audio, its RMS level (0…1, before muting), and the time this thread
   * had lost when it was captured (ms, see `lib/protocols/lost_time.ts`).
   */
  | { type: "frame"; bytes: Uint8Array; level: number; lostMs: number }
  /** Marks playout reached; `playedMs`: the agent's audio played since the call began. */
  | { type: "played"; marks: string[]; playedMs: number; queuedMs: number }
  /**
   * The queue was cleared: the pending marks, to echo at once, and when (wall clock, ms); with
   * `recent`, the agent audio played by each of the last render quanta's wall-clock times, so
   * what had played at any moment of the last {@link RECENT_QUANTA} quanta can be read exactly
   * (under load the audio thread can fall behind the wall clock).
   */
  | {
    type: "cleared";
    marks: string[];
    playedMs: number;
    at: number;
    /** The time this thread had lost (see `lib/protocols/lost_time.ts`). */
    lostMs: number;
    recent: [wallMs: number, playedMs: number][];
  };

/** How many render quanta `recent` covers (128 frames each: about 350 ms at 48 kHz). */
export const RECENT_QUANTA = 128;

class VoiceProcessor extends AudioWorkletProcessor {
  readonly #down = new Resampler(sampleRate, MULAW_RATE);
  readonly #up = new Resampler(MULAW_RATE, sampleRate);
  readonly #queue = new PlayoutQueue();
  readonly #frame = new Float32Array(FRAME_SAMPLES);
  #filled = 0;
  #muted = false;
  /** Samples of agent audio played, at the context's rate. */
  #played = 0;
  #playing = false;
  /** (wall ms, samples played) after each of the last quanta, oldest first. */
  readonly #recent: [number, number][] = [];
  readonly #lostTime = new LostTime(sampleRate);

  constructor() {
    super();
    this.port.onmessage = (ev: MessageEvent<ToWorklet>) => this.#onMessage(ev.data);
  }

  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const now = Date.now();
    this.#lostTime.rendered(now);
    const mic = inputs[0]?.[0];
    if (mic) this.#capture(mic);
    const out = outputs[0];
    if (out?.[0]) {
      const { marks, played } = this.#queue.pull(out[0]);
      for (let c = 1; c < out.length; c++) out[c].set(out[0]);
      this.#played += played;
      this.#recent.push([now, this.#played]);
      if (this.#recent.length > RECENT_QUANTA) this.#recent.shift();
      const was = this.#playing;
      this.#playing = this.#queue.queued > 0;
      // Posted when a mark is reached or playback stops: not on every quantum.
      if (marks.length > 0 || (was && !this.#playing)) {
        this.#post({
          type: "played",
          marks,
          playedMs: this.#ms(this.#played),
          queuedMs: this.#ms(this.#queue.queued),
        });
      }
    }
    return true;
  }

  #capture(input: Float32Array): void {
    const samples = this.#down.push(input);
    for (let i = 0; i < samples.length; i++) {
      this.#frame[this.#filled++] = samples[i];
      if (this.#filled < FRAME_SAMPLES) continue;
      this.#filled = 0;
      let sum = 0;
      for (const s of this.#frame) sum += s * s;
      const level = Math.sqrt(sum / FRAME_SAMPLES);
      const bytes = this.#muted
        ? new Uint8Array(FRAME_SAMPLES).fill(MULAW_SILENCE)
        : encodeMulaw(this.#frame);
      const frame = {
        type: "frame",
        bytes,
        level,
        lostMs: this.#lostTime.lostMs,
      } satisfies FromWorklet;
      this.port.postMessage(frame, [bytes.buffer as ArrayBuffer]);
    }
  }

  #onMessage(message: ToWorklet): void {
    switch (message.type) {
      case "media":
        this.#queue.enqueue(this.#up.push(decodeMulaw(message.bytes)));
        this.#playing = true;
        return;
      case "mark":
        return this.#queue.mark(message.name);
      case "clear": {
        const marks = this.#queue.clear();
        this.#playing = false;
        const at = Date.now();
        const recent = this.#recent.map(([wall, n]): [number, number] => [wall, this.#ms(n)]);
        return this.#post({
          type: "cleared",
          marks,
          playedMs: this.#ms(this.#played),
          at,
          lostMs: this.#lostTime.lostMs,
          recent,
        });
      }
      case "mute":
        this.#muted = message.muted;
        return;
    }
  }

  #ms(samples: number): number {
    return samples * 1000 / sampleRate;
  }

  #post(message: FromWorklet): void {
    this.port.postMessage(message);
  }
}

registerProcessor(VOICE_PROCESSOR, VoiceProcessor);
