/**
 * A LiveVoice without sockets, for its unit tests: Twilio's socket is a stub that keeps what was
 * sent (each media payload's length, each mark's name, each event), the Live session a stub that
 * keeps its frames, the record and the log are captured, and time is a {@link ManualClock}.
 *
 * @module
 */

import type { CallSocket } from "../../lib/calls/call_types.ts";
import { Logger } from "../../lib/platform/log.ts";
import type { CallRecorder } from "../../lib/records/call_recorder.ts";
import { CallTranscript } from "../../lib/realtime/call_transcript.ts";
import type { LiveSession } from "../../lib/realtime/live_session.ts";
import { LiveVoice } from "../../lib/realtime/live_voice.ts";
import { TwilioStream } from "../../lib/realtime/twilio_stream.ts";
import { FakeClock } from "./fake_clock.ts";

/** `ms` of µ-law silence (8 bytes a ms) as one base64 delta. */
export function delta(ms: number): string {
  return bytes(ms * 8);
}

/** `n` bytes of µ-law silence as one base64 delta (padded when `n` is no multiple of 3). */
export function bytes(n: number): string {
  return btoa("\xff".repeat(n));
}

/**
 * A FakeClock whose monotonic time (Twilio's playout) the test sets in `mono`, or which follows
 * the timers' time from when it was made (`following`), so a timer reads the playout at its time.
 */
export class ManualClock extends FakeClock {
  mono = 0;
  following = false;
  readonly #origin = this.now();

  override monotonic(): number {
    return this.following ? this.now() - this.#origin : this.mono;
  }
}

/** One turn's latency as the voice records it. */
export type LatencySample = Parameters<CallRecorder["latency"]>[0];

/** What the voice wrote to the call's record. */
export interface Recorded {
  latencies: LatencySample[];
  events: { type: string; summary: string; data: Record<string, unknown> }[];
}

/** A voice on a stub stream and session; `attach: false` leaves it with no stream yet. */
export function liveVoiceRig(options: { ready?: boolean; attach?: boolean } = {}) {
  const recorded: Recorded = { latencies: [], events: [] };
  const record = {
    latency: (sample: LatencySample) => void recorded.latencies.push(sample),
    event: (type: string, summary: string, data: Record<string, unknown>) =>
      void recorded.events.push({ type, summary, data }),
  };
  const clock = new ManualClock();
  const media: number[] = [];
  const marks: string[] = [];
  const twilio: string[] = [];
  const socket: CallSocket = {
    readyState: WebSocket.OPEN,
    send(data) {
      const message = JSON.parse(data);
      twilio.push(message.event);
      if (message.event === "media") media.push(atob(message.media.payload).length);
      if (message.event === "mark") marks.push(message.mark.name);
    },
    close() {},
    addEventListener() {},
  };
  const sent: string[] = [];
  const upstream = {
    ready: options.ready ?? true,
    session: 1,
    send: (frame: string) => void sent.push(frame),
  };
  let closed = 0;
  const logs: Record<string, unknown>[] = [];
  const logger = new Logger("debug", {}, (line) => {
    const { time: _, ...rest } = JSON.parse(line);
    logs.push(rest);
  });
  const transcript = new CallTranscript(clock, () => null);
  const stats = { framesOut: 0, droppedDeltas: 0, bargeIns: 0, truncates: 0 };
  const voice = new LiveVoice({
    upstream: upstream as unknown as LiveSession,
    clock,
    transcript,
    stats,
    log: () => logger,
    record: () => record as unknown as CallRecorder,
    turnClosed: () => void closed++,
  });
  const stream = new TwilioStream(socket, "MZ1", () => clock.monotonic());
  if (options.attach ?? true) voice.attach(stream);
  return {
    clock,
    voice,
    stream,
    sent,
    media,
    marks,
    twilio,
    logs,
    closed: () => closed,
    recorded,
    transcript,
    stats,
  };
}
