/**
 * A realtime call's transcript: one line per conversation item (the caller's speech, the agent's
 * audio), created in conversation order when the item is first seen and saved to the call's
 * record each time it changes (its text arrives later; a cut-in marks it interrupted).
 *
 * @module
 */

import type { TranscriptEntry } from "../calls/call_types.ts";
import type { Clock } from "../platform/clock.ts";
import type { CallRecorder } from "../records/call_recorder.ts";

/** The transcript of one call. */
export class CallTranscript {
  readonly entries: TranscriptEntry[] = [];

  /** `record` gives the call's record as it is now (none before `start`). */
  constructor(private readonly clock: Clock, private readonly record: () => CallRecorder | null) {}

  /** The line of `itemId`, created (in conversation order) on first sight. */
  of(role: "caller" | "agent", itemId: string): TranscriptEntry {
    const existing = itemId ? this.item(itemId) : undefined;
    if (existing) return existing;
    const entry: TranscriptEntry = { role, text: "", at: this.clock.now(), itemId };
    this.entries.push(entry);
    return entry;
  }

  /** The line of `itemId`, if seen. */
  item(itemId: string): TranscriptEntry | undefined {
    return this.entries.findLast((e) => e.itemId === itemId);
  }

  /** A line with no item (a key press), added and saved now. */
  add(role: "caller" | "agent", text: string): TranscriptEntry {
    const entry: TranscriptEntry = { role, text, at: this.clock.now() };
    this.entries.push(entry);
    this.save(entry);
    return entry;
  }

  /** Saves `entry` (again) to the record. */
  save(entry: TranscriptEntry): void {
    this.record()?.transcript(entry);
  }
}
