/**
 * The agent's voice on a GPT-Live call: its audio out to Twilio, its transcript, the latency of
 * each turn, and a barge-in.
 *
 * Live paces its output itself (about real time) and has no response ids, item ids or
 * truncate: its chunks are played in delivery order, and when the caller cuts in the server stops
 * sending and takes what it sent as what was said. So the bridge keeps Twilio's buffer shallow —
 * at most {@link MAX_QUEUED_MS} of audio queued there, any more held here (a long delta cut to
 * the room left) and released as marks echo — and when the caller speaks over audio still
 * playing (an input transcript while Twilio plays), it sends `clear` and drops what it held.
 * What was still queued at Twilio at that moment is recorded with the barge-in (the benchmark
 * reads it beside the Realtime path's).
 *
 * Live says nothing when a turn of the agent ends, and its paced output may leave Twilio's
 * shallow queue empty between two deltas: so the agent's turn is open (the conversation is not
 * settled, and a pending end such as `end_call`'s waits) from when the bridge asks the model to
 * speak until its audio has come and then paused for {@link TURN_QUIET_MS} — with the audio
 * played out at Twilio, which the call reads from the marks — or, if no audio comes, for at most
 * {@link ANSWER_WAIT_MS}.
 *
 * @module
 */

import type { Clock, TimerId } from "../platform/clock.ts";
import type { Logger } from "../platform/log.ts";
import { base64ByteLength, MULAW_BYTES_PER_MS } from "../protocols/media_streams.ts";
import { commentary } from "../protocols/openai_live.ts";
import type { CallRecorder } from "../records/call_recorder.ts";
import type { CallTranscript } from "./call_transcript.ts";
import type { LiveSession } from "./live_session.ts";
import type { RealtimeTurn } from "./response_sequencer.ts";
import type { OutgoingItem, TwilioStream } from "./twilio_stream.ts";

/** Most audio queued at Twilio at once: a barge-in cuts at most this much of the agent short. */
export const MAX_QUEUED_MS = 200;

/** A long delta is cut into parts of at least a Twilio frame (20 ms). */
const MIN_PART_BYTES = 20 * MULAW_BYTES_PER_MS;
/** The shortest part cut off a delta: a frame, rounded up to whole base64 groups (3 bytes). */
const MIN_CUT_BYTES = Math.ceil(MIN_PART_BYTES / 3) * 3;

/** The agent's turn is over once no audio came for this long (and Twilio has played it). */
export const TURN_QUIET_MS = 600;
/** The longest wait for the audio of an answer the bridge asked for (a goodbye, a tool's). */
export const ANSWER_WAIT_MS = 5000;

/** What the voice uses of its call. */
export interface LiveVoiceDeps {
  upstream: LiveSession;
  clock: Clock;
  transcript: CallTranscript;
  stats: { framesOut: number; droppedDeltas: number; bargeIns: number; truncates: number };
  log(): Logger;
  record(): CallRecorder | null;
  /** The agent's turn closed by itself (quiet, or no answer in time): the call may settle. */
  turnClosed(): void;
}

/** The agent's side of one Live call's audio. */
export class LiveVoice {
  /** One per agent turn (Live has no responses: a turn is the audio between caller turns). */
  readonly turns: RealtimeTurn[] = [];
  /** Audio queued at Twilio when the caller cut in, per barge-in, in ms. */
  readonly queuedAtBargeIn: number[] = [];
  /** The most audio queued at Twilio at once, in ms (kept under {@link MAX_QUEUED_MS}). */
  maxQueuedMs = 0;
  /**
   * The responses side as the call reads it. Live has no responses to sequence (never busy);
   * it owes the caller an answer the bridge asked for until its audio comes, so the call's
   * watchdog fails a session that sends nothing at all meanwhile (the caller hears the
   * fallback, not silence), though the turn stops waiting after {@link ANSWER_WAIT_MS}.
   */
  get responses(): { owed: boolean; busy: boolean; turns: RealtimeTurn[] } {
    return { owed: this.#owed, busy: false, turns: this.turns };
  }
  #stream: TwilioStream | null = null;
  #out: OutgoingItem | null = null;
  #held: string[] = [];
  #turns = 0;
  /** Monotonic time the caller last spoke (or the bridge asked for speech), awaiting an answer. */
  #askedAt: number | null = null;
  /** An answer was asked for and its audio has not come (bounded by {@link ANSWER_WAIT_MS}). */
  #answerDue: TimerId | undefined;
  /** Clock time of the agent's last audio delta of the open turn (-Infinity: none is open). */
  #lastAudioAt = -Infinity;
  /** Fires once the open turn has been quiet for {@link TURN_QUIET_MS}. */
  #quietTimer: TimerId | undefined;
  /** Fires when Twilio will have played enough for the held audio's next part. */
  #releaseTimer: TimerId | undefined;
  /** An answer was asked for and none of its audio has come yet. */
  #owed = false;

  constructor(private readonly deps: LiveVoiceDeps) {}

  /** The call's stream started: audio goes to `stream` from now on. */
  attach(stream: TwilioStream): void {
    this.#stream = stream;
  }

  /** True while Twilio may still be playing the agent's audio (or the bridge holds some). */
  get playing(): boolean {
    return this.#held.length > 0 || (this.#stream?.playing ?? false);
  }

  /**
   * True while the agent's turn may go on: an answer asked for has not come yet, or its audio
   * came less than {@link TURN_QUIET_MS} ago (a timer then tells the call, `turnClosed`).
   */
  get turnOpen(): boolean {
    if (this.#answerDue !== undefined) return true;
    const { clock } = this.deps;
    const left = this.#lastAudioAt + TURN_QUIET_MS - clock.now();
    if (left <= 0) return false;
    // One timer for the quiet gap, armed when the call asks, not one per delta.
    this.#quietTimer ??= clock.setTimeout(() => {
      this.#quietTimer = undefined;
      this.deps.turnClosed();
    }, left);
    return true;
  }

  /** Has the model say `text` (greeting, reminder, goodbye) next; false if it cannot now. */
  say(text: string): boolean {
    if (!this.deps.upstream.ready) return false;
    this.ask(`Say exactly this to the caller, and nothing else: "${text}"`);
    return true;
  }

  /** Speakable context under the session's instructions (they cannot change on Live). */
  ask(line: string): void {
    this.#askedAt ??= this.deps.clock.monotonic();
    this.deps.upstream.send(commentary(line));
    this.expect();
  }

  /** The model was asked to speak (or to go on after tools): its turn is open until it has. */
  expect(): void {
    const { clock } = this.deps;
    this.#owed = true;
    clock.clearTimeout(this.#answerDue);
    this.#answerDue = clock.setTimeout(() => {
      this.#answerDue = undefined;
      this.deps.log().warn("live.answer_missing", { waitedMs: ANSWER_WAIT_MS });
      this.deps.turnClosed();
    }, ANSWER_WAIT_MS);
  }

  /** Stops the turn's timers (the call ends). */
  stop(): void {
    this.#closeTurn();
  }

  /** The caller spoke: the agent's next audio begins a new turn, its latency counted from now. */
  callerSpoke(): void {
    // Live answers the caller by itself: what the bridge had asked for is moot.
    this.#owed = false;
    this.#out = null;
    this.#askedAt = this.deps.clock.monotonic();
  }

  /** A delta of the model's audio: to Twilio now, or held while Twilio has enough queued. */
  audio(delta: string): void {
    const stream = this.#stream;
    if (!stream) {
      this.deps.stats.droppedDeltas++;
      return;
    }
    if (!this.#out) this.#startTurn();
    this.deps.clock.clearTimeout(this.#answerDue);
    this.#answerDue = undefined;
    this.#owed = false;
    this.#lastAudioAt = this.deps.clock.now();
    // Behind what is held, or straight out (below) when nothing is and Twilio has room for it.
    this.#held.push(delta);
    this.#release(stream);
  }

  /** A mark echoed: held audio goes out while Twilio's queue has room. */
  played(): void {
    if (this.#stream) this.#release(this.#stream);
  }

  /**
   * Sends held audio while Twilio's queue has room: a delta that fits goes whole, a longer one is
   * cut (on a base64 group) to the room left and its rest held, so the queue stays under the cap
   * whatever the deltas' length. Neither part is ever shorter than a Twilio frame (20 ms): a
   * frame is never split, and marks stay few. What still waits goes when Twilio will have played
   * enough for it (a timer: as Twilio plays in real time, a late echo of its marks must not
   * leave it short of audio), or at the next echo if sooner.
   */
  #release(stream: TwilioStream): void {
    while (this.#held.length > 0) {
      const room = this.#roomBytes(stream);
      const delta = this.#held[0];
      const bytes = base64ByteLength(delta);
      if (bytes <= room) {
        this.#held.shift();
        this.#send(delta);
        continue;
      }
      // Whole groups of 3 bytes (4 characters): each part stays valid base64, never decoded.
      const cut = Math.floor(Math.min(room, bytes - MIN_PART_BYTES) / 3) * 3;
      if (cut < MIN_CUT_BYTES) {
        // The room for the shortest cut that leaves a frame, else for the whole delta.
        const need = bytes - MIN_PART_BYTES >= MIN_CUT_BYTES ? MIN_CUT_BYTES : bytes;
        return this.#releaseLater(stream, (need - room) / MULAW_BYTES_PER_MS);
      }
      this.#held[0] = delta.slice((cut / 3) * 4);
      this.#send(delta.slice(0, (cut / 3) * 4));
    }
  }

  /** Releases held audio again in `ms` (one timer at a time). */
  #releaseLater(stream: TwilioStream, ms: number): void {
    if (this.#releaseTimer !== undefined) return;
    this.#releaseTimer = this.deps.clock.setTimeout(() => {
      this.#releaseTimer = undefined;
      this.#release(stream);
    }, Math.ceil(ms)); // ms > 0: Twilio has less room than the part needs
  }

  /** Bytes of µ-law Twilio's queue has room for under {@link MAX_QUEUED_MS}. */
  #roomBytes(stream: TwilioStream): number {
    return (MAX_QUEUED_MS - stream.queuedMs) * MULAW_BYTES_PER_MS;
  }

  /** The agent's transcript grows (Live sends it in deltas, with no done event). */
  spoken(delta: string): void {
    if (!this.#out) this.#startTurn();
    const entry = this.#out!.entry;
    entry.text += delta;
    this.deps.transcript.save(entry);
  }

  /**
   * The caller cut in: stops what Twilio plays and drops what is held. Does nothing when nothing
   * plays. Live itself stopped its output; there is nothing to truncate.
   */
  interrupt(cause: string): void {
    const stream = this.#stream;
    const out = this.#out;
    if (!stream || !out || !this.playing) return;
    const queuedMs = Math.round(stream.queuedMs);
    const heard = stream.clear();
    const dropped = this.#held.length;
    this.#held = [];
    this.#closeTurn();
    this.deps.stats.bargeIns++;
    this.queuedAtBargeIn.push(queuedMs);
    const heardMs = Math.max(0, Math.floor(heard?.heardMs ?? out.entry.audioMs ?? 0));
    out.entry.interrupted = true;
    out.entry.heardMs = heardMs;
    this.deps.transcript.save(out.entry);
    this.#out = null;
    this.deps.log().info("live.barge_in", { cause, heardMs, queuedMs, heldDeltas: dropped });
    this.deps.record()?.event("barge_in", `caller cut in after ${heardMs} ms of audio`, {
      cause,
      audioEndMs: heardMs,
      queuedMs,
    });
  }

  /** The open turn is over (a barge-in, the end of the call): nothing held waits, no timer. */
  #closeTurn(): void {
    const { clock } = this.deps;
    clock.clearTimeout(this.#answerDue);
    clock.clearTimeout(this.#quietTimer);
    clock.clearTimeout(this.#releaseTimer);
    this.#answerDue = undefined;
    this.#quietTimer = undefined;
    this.#releaseTimer = undefined;
    this.#lastAudioAt = -Infinity;
  }

  #startTurn(): void {
    const { clock, transcript, upstream } = this.deps;
    const itemId = `live-agent-${++this.#turns}`;
    const entry = transcript.of("agent", itemId);
    this.#out = { itemId, responseId: itemId, session: upstream.session, bytes: 0, entry };
    const askedAt = this.#askedAt;
    this.#askedAt = null;
    const latencyMs = askedAt === null ? null : clock.monotonic() - askedAt;
    const turn: RealtimeTurn = {
      responseId: itemId,
      startedAt: clock.now(),
      latencyMs,
      status: "completed",
      usage: null,
    };
    this.turns.push(turn);
    this.deps.record()?.latency({
      latencyMs: latencyMs === null ? null : Math.round(latencyMs),
      inputTokens: 0,
      outputTokens: 0,
      outcome: "completed",
      at: turn.startedAt,
    });
  }

  #send(delta: string): void {
    const stream = this.#stream!;
    this.deps.stats.framesOut += stream.play(this.#out!, delta);
    this.maxQueuedMs = Math.max(this.maxQueuedMs, stream.queuedMs);
  }
}
