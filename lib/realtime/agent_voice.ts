/**
 * The agent's voice on a realtime call: asking the model for responses (the agent's
 * instructions first), its audio out to Twilio as chunks and marks, and a barge-in — `clear`,
 * then the item truncated to what the caller heard — with the latency and usage of each
 * response recorded.
 *
 * @module
 */

import type { Clock } from "../platform/clock.ts";
import type { Logger } from "../platform/log.ts";
import { createResponse, truncateItem, type Usage } from "../protocols/openai_realtime.ts";
import type { CallRecorder } from "../records/call_recorder.ts";
import type { CallTranscript } from "./call_transcript.ts";
import { type RealtimeTurn, ResponseSequencer } from "./response_sequencer.ts";
import type { OutgoingItem, TwilioStream } from "./twilio_stream.ts";
import type { UpstreamSession } from "./upstream_session.ts";

/** What the voice uses of its call. */
export interface VoiceDeps {
  upstream: UpstreamSession;
  clock: Clock;
  transcript: CallTranscript;
  stats: { framesOut: number; droppedDeltas: number; bargeIns: number; truncates: number };
  /** The call's logger, record and session instructions, as they are now. */
  log(): Logger;
  record(): CallRecorder | null;
  instructions(): string;
}

/** The agent's side of one call's audio. */
export class AgentVoice {
  readonly responses = new ResponseSequencer();
  #stream: TwilioStream | null = null;
  #out: OutgoingItem | null = null;

  constructor(private readonly deps: VoiceDeps) {}

  /** The call's stream started: audio goes to `stream` from now on. */
  attach(stream: TwilioStream): void {
    this.#stream = stream;
  }

  /** True while Twilio may still be playing the agent's audio. */
  get playing(): boolean {
    return this.#stream?.playing ?? false;
  }

  /** Has the model say `text` (greeting, reminder, goodbye) next; false if it cannot now. */
  say(text: string): boolean {
    if (!this.deps.upstream.ready) return false;
    this.ask(`Say exactly this to the caller, and nothing else: "${text}"`);
    return true;
  }

  /**
   * Asks for a response to `line`: a response's own instructions replace the session's for that
   * response, so the agent's (persona, language, rules) come first.
   */
  ask(line: string): void {
    this.respond(`${this.deps.instructions()}\n\n${line}`);
  }

  /** Asks the model for a response now (its latency counts from now). */
  respond(instructions?: string): void {
    const { clock, upstream } = this.deps;
    this.responses.turnStarted(clock.monotonic());
    // The stall watchdog counts from the first request of a busy spell.
    if (this.responses.request()) upstream.lastEventAt = clock.now();
    upstream.send(createResponse(instructions));
  }

  /** A delta of the model's audio: to Twilio, unless its response was cut off. */
  audio(responseId: string, itemId: string, delta: string): void {
    const { stats, transcript, upstream, clock } = this.deps;
    const stream = this.#stream;
    if (this.responses.muted(responseId) || !stream) {
      stats.droppedDeltas++;
      return;
    }
    let item = this.#out;
    if (!item || item.itemId !== itemId) {
      const entry = transcript.of("agent", itemId);
      item = { itemId, responseId, session: upstream.session, bytes: 0, entry };
      this.#out = item;
    }
    this.responses.audio(responseId, clock.monotonic());
    stats.framesOut += stream.play(item, delta);
  }

  /**
   * The caller cut in: stops what Twilio plays and truncates the item being heard to what was
   * heard. Does nothing when nothing plays.
   */
  interrupt(cause: string): void {
    const heard = this.#stream?.clear();
    if (!heard) return;
    const { stats, transcript, upstream } = this.deps;
    stats.bargeIns++;
    const audioEndMs = Math.max(0, Math.floor(heard.heardMs));
    if (this.#out?.itemId === heard.itemId) this.responses.mute(this.#out.responseId);
    const entry = transcript.item(heard.itemId);
    if (entry) {
      entry.interrupted = true;
      entry.heardMs = audioEndMs;
    }
    if (heard.session === upstream.session && upstream.ready) {
      upstream.send(truncateItem(heard.itemId, audioEndMs));
      stats.truncates++;
    }
    this.deps.log().info("realtime.barge_in", { cause, audioEndMs });
    if (entry) transcript.save(entry);
    this.deps.record()?.event("barge_in", `caller cut in after ${audioEndMs} ms of audio`, {
      cause,
      audioEndMs,
    });
  }

  /** `response.done`: its turn closed, its latency and usage recorded. */
  done(responseId: string, status: string, usage: Usage | null): RealtimeTurn | undefined {
    const turn = this.responses.done(responseId, status, usage);
    if (turn) {
      this.deps.record()?.latency({
        latencyMs: turn.latencyMs === null ? null : Math.round(turn.latencyMs),
        inputTokens: usage?.inputTokens ?? 0,
        outputTokens: usage?.outputTokens ?? 0,
        ...(usage?.details ? { usage: usage.details } : {}),
        outcome: status,
        at: turn.startedAt,
      });
    }
    return turn;
  }
}
