/**
 * Caller audio gathered into longer deltas, for the fakes' echo modes: Twilio's frames are 20 ms,
 * and real servers send 100 ms and more of output at once.
 *
 * @module
 */

import { Buffer } from "node:buffer";

/** Appends (base64 µ-law, 8 bytes a ms) gathered until they reach a delta's length. */
export class AudioGather {
  #held: Uint8Array[] = [];
  #heldBytes = 0;

  /** `deltaMs()` is read at each append (the benchmark changes it between runs; 0: no gathering). */
  constructor(private readonly deltaMs: () => number) {}

  /** Adds `audio`; returns the delta (base64) once enough is held, else null. */
  push(audio: string): string | null {
    const deltaBytes = this.deltaMs() * 8;
    if (deltaBytes <= 0) return audio;
    this.#held.push(Buffer.from(audio, "base64"));
    this.#heldBytes += this.#held.at(-1)!.length;
    if (this.#heldBytes < deltaBytes) return null;
    const delta = Buffer.concat(this.#held).toString("base64");
    this.drop();
    return delta;
  }

  /** Forgets what is held. */
  drop(): void {
    this.#held = [];
    this.#heldBytes = 0;
  }
}
