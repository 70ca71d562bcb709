/**
 * DTMF tones as 8 kHz µ-law, to play key presses into a Media Stream (the realtime path's
 * `send_dtmf`): each digit is 100 ms of its two frequencies, then 100 ms of silence; `w` waits
 * half a second.
 *
 * @module
 */

import { linearToMulaw, MULAW_RATE as RATE, MULAW_SILENCE as SILENCE } from "./g711.ts";

const TONE_MS = 100;
const GAP_MS = 100;
const WAIT_MS = 500;
const ROWS: Record<string, number> = {
  "1": 697,
  "2": 697,
  "3": 697,
  "A": 697,
  "4": 770,
  "5": 770,
  "6": 770,
  "B": 770,
  "7": 852,
  "8": 852,
  "9": 852,
  "C": 852,
  "*": 941,
  "0": 941,
  "#": 941,
  "D": 941,
};
const COLUMNS: Record<string, number> = {
  "1": 1209,
  "4": 1209,
  "7": 1209,
  "*": 1209,
  "2": 1336,
  "5": 1336,
  "8": 1336,
  "0": 1336,
  "3": 1477,
  "6": 1477,
  "9": 1477,
  "#": 1477,
  "A": 1633,
  "B": 1633,
  "C": 1633,
  "D": 1633,
};
/** The µ-law audio of `digits` (0-9, *, #, A-D, and w for a pause). */
export function dtmfMulaw(digits: string): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const digit of digits.toUpperCase()) {
    if (digit === "W") {
      chunks.push(new Uint8Array(WAIT_MS * RATE / 1000).fill(SILENCE));
      continue;
    }
    const low = ROWS[digit];
    const high = COLUMNS[digit];
    if (!low || !high) throw new Error(`not a DTMF digit: ${digit}`);
    const tone = new Uint8Array(TONE_MS * RATE / 1000);
    for (let i = 0; i < tone.length; i++) {
      const t = i / RATE;
      const sample = 8000 * (Math.sin(2 * Math.PI * low * t) + Math.sin(2 * Math.PI * high * t));
      tone[i] = linearToMulaw(sample);
    }
    chunks.push(tone, new Uint8Array(GAP_MS * RATE / 1000).fill(SILENCE));
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
