/**
 * What a fake Realtime session says back: its responses. A scripted reply is deterministic audio
 * ({@link replyAudio}) paced on timers, its transcript, then the function calls it makes, and a
 * `response.done` with usage; in echo mode appended audio comes straight back as the deltas of
 * one open-ended response, which ends once the caller's audio stops. A response can be cut
 * (barge-in, `response.cancel`) after a few late deltas, those already on their way.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { RealtimeServerEvent } from "openai/resources/realtime/realtime";
import { base64ByteLength } from "../../lib/protocols/media_streams.ts";
import { AudioGather } from "./audio_gather.ts";

/** A scripted assistant reply. */
export interface ReplyScript {
  /** Audio length in ms (µ-law, 8 bytes per ms). */
  audioMs: number;
  /** Audio per delta, in ms. */
  deltaMs: number;
  /** Playback speed of the pacing: 1 = real time, 4 = four times faster than real time. */
  speed: number;
  transcript: string;
  /** Function calls the reply makes after its audio (parallel when several). */
  functionCalls?: { name: string; arguments: string }[];
}

/** Deterministic µ-law bytes for reply `seed` (so tests can check audio byte for byte). */
export function replyAudio(seed: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (i * 7 + seed * 31) & 0xff;
  return out;
}

/** The fake server's settings the replies follow, read when used (the `FakeRealtime` has them). */
export interface ReplySettings {
  /** The script of every reply, over the defaults. */
  readonly reply: Partial<ReplyScript>;
  /** Scripts for the next replies, in order, over `reply` (taken as they start). */
  readonly replies: Partial<ReplyScript>[];
  /** Seeds of the replies started, in order (pushed as they start). */
  readonly replySeeds: number[];
  /** Start no reply: a stalled server. */
  readonly stallReplies: boolean;
  /** In echo mode, gather appended audio into deltas of at least this many ms (0: none). */
  readonly echoDeltaMs: number;
}

/** One item of the conversation: its role, and for the assistant's the audio sent so far. */
export interface ConversationItem {
  role: string;
  audioBytes: number;
}

/**
 * A server event as the fake sends it: one of the SDK's `RealtimeServerEvent`s (openai 7.55,
 * `resources/realtime/realtime.d.ts`), so the compiler holds each to the API's shape, without
 * the `event_id` the session stamps on it.
 */
export type OutgoingEvent = RealtimeServerEvent extends infer E
  ? E extends unknown ? Omit<E, "event_id"> : never
  : never;

/** What a session lends its replies: its socket, its ids and its conversation. */
export interface ReplyWire {
  /** Sends a server event (the session stamps and records it). */
  send(event: OutgoingEvent): void;
  /** Sends a text frame as is (the echo's hot path). */
  sendRaw(text: string): void;
  /** A new id with this prefix. */
  id(prefix: string): string;
  /** The conversation's items, by id. */
  readonly items: Map<string, ConversationItem>;
  /** Function calls made, by call_id, and whether their output has been given. */
  readonly functionCalls: Map<string, { name: string; answered: boolean }>;
}

/** The reply being sent. */
interface ActiveReply {
  id: string;
  itemId: string;
  timer?: ReturnType<typeof setTimeout>;
  sendNext?: () => boolean;
}

/** In echo mode, the open-ended response ends this long after the last appended audio. */
const ECHO_END_MS = 250;

const DEFAULT_REPLY: ReplyScript = {
  audioMs: 1000,
  deltaMs: 100,
  speed: 4,
  transcript: "Hello, how can I help you today?",
};

/** The responses of one session: at most one in progress. */
export class RealtimeReplies {
  #settings: ReplySettings;
  #wire: ReplyWire;
  #active: ActiveReply | null = null;
  #seeds = 0;
  #lastEchoAt = 0;
  /** Echo audio gathered for a longer delta (with `echoDeltaMs`). */
  readonly #echoGather = new AudioGather(() => this.#settings.echoDeltaMs);
  #echoEnder: ReturnType<typeof setInterval> | undefined;

  constructor(settings: ReplySettings, wire: ReplyWire) {
    this.#settings = settings;
    this.#wire = wire;
  }

  /** The id of the response in progress, if any. */
  get activeId(): string | null {
    return this.#active?.id ?? null;
  }

  /**
   * Cuts the response in progress, if any, after up to `lateDeltas` more of its deltas (already
   * on the wire when the server noticed): it ends `cancelled`, unless those deltas completed it.
   * Returns how many late deltas were sent.
   */
  cut(lateDeltas: number): number {
    const active = this.#active;
    if (!active) return 0;
    let sent = 0;
    for (let i = 0; i < lateDeltas && this.#active === active; i++) {
      active.sendNext?.();
      sent++;
    }
    if (this.#active === active) this.#finish("cancelled");
    return sent;
  }

  /** A scripted reply; in echo mode too (a real server answers every `response.create`). */
  start(): void {
    if (this.#active || this.#settings.stallReplies) return;
    const script = { ...DEFAULT_REPLY, ...this.#settings.reply, ...this.#settings.replies.shift() };
    const seed = ++this.#seeds;
    this.#settings.replySeeds.push(seed);
    const id = this.#wire.id("resp");
    const itemId = this.#wire.id("item");
    const active: ActiveReply = { id, itemId };
    this.#active = active;
    this.#wire.items.set(itemId, { role: "assistant", audioBytes: 0 });
    this.#wire.send({ type: "response.created", response: { id, status: "in_progress" } });
    this.#wire.send({
      type: "response.output_item.added",
      response_id: id,
      output_index: 0,
      item: { id: itemId, type: "message", role: "assistant", status: "in_progress", content: [] },
    });
    const audio = replyAudio(seed, Math.round(script.audioMs * 8));
    const step = Math.round(script.deltaMs * 8);
    let offset = 0;
    const started = performance.now();
    /** Sends the next delta; true when the reply is complete. */
    const sendNext = (): boolean => {
      const end = Math.min(offset + step, audio.length);
      const delta = Buffer.from(audio.subarray(offset, end)).toString("base64");
      this.#wire.items.get(itemId)!.audioBytes += end - offset;
      offset = end;
      this.#wire.send({
        type: "response.output_audio.delta",
        response_id: id,
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        delta,
      });
      if (offset >= audio.length) {
        this.#wire.send({
          type: "response.output_audio.done",
          response_id: id,
          item_id: itemId,
          output_index: 0,
          content_index: 0,
        });
        this.#wire.send({
          type: "response.output_audio_transcript.done",
          response_id: id,
          item_id: itemId,
          output_index: 0,
          content_index: 0,
          transcript: script.transcript,
        });
        for (const [index, call] of (script.functionCalls ?? []).entries()) {
          const callId = this.#wire.id("call");
          const fcItem = this.#wire.id("item");
          this.#wire.functionCalls.set(callId, { name: call.name, answered: false });
          const item = {
            id: fcItem,
            type: "function_call" as const,
            call_id: callId,
            name: call.name,
          };
          this.#wire.send({
            type: "response.output_item.added",
            response_id: id,
            output_index: index + 1,
            item: { ...item, arguments: "", status: "in_progress" },
          });
          this.#wire.send({
            type: "response.function_call_arguments.done",
            response_id: id,
            item_id: fcItem,
            output_index: index + 1,
            call_id: callId,
            name: call.name,
            arguments: call.arguments,
          });
          this.#wire.send({
            type: "response.output_item.done",
            response_id: id,
            output_index: index + 1,
            item: { ...item, arguments: call.arguments, status: "completed" },
          });
        }
        this.#finish("completed");
        return true;
      }
      return false;
    };
    active.sendNext = sendNext;
    const tick = () => {
      if (this.#active !== active || sendNext()) return;
      // Paced on the real clock: delta n leaves at n * deltaMs / speed.
      const due = started + (offset / 8) / script.speed;
      active.timer = setTimeout(tick, Math.max(0, due - performance.now()));
    };
    active.timer = setTimeout(tick, 0);
  }

  /** In echo mode: `audio` (base64) back at once as a delta of the open-ended response. */
  echo(audio: string): void {
    this.#lastEchoAt = performance.now();
    // A response ends once the caller's audio stops (a real one always ends with response.done).
    this.#echoEnder ??= setInterval(() => {
      if (this.#active && performance.now() - this.#lastEchoAt > ECHO_END_MS) {
        this.#finish("completed");
      }
    }, ECHO_END_MS);
    let active = this.#active;
    if (!active) {
      active = { id: this.#wire.id("resp"), itemId: this.#wire.id("item") };
      this.#active = active;
      this.#wire.items.set(active.itemId, { role: "assistant", audioBytes: 0 });
      this.#wire.send({
        type: "response.created",
        response: { id: active.id, status: "in_progress" },
      });
    }
    const gathered = this.#echoGather.push(audio);
    if (gathered === null) return;
    audio = gathered;
    const item = this.#wire.items.get(active.itemId)!;
    item.audioBytes += Math.floor(base64ByteLength(audio));
    this.#wire.sendRaw(
      '{"type":"response.output_audio.delta","event_id":"e","response_id":"' + active.id +
        '","item_id":"' + active.itemId + '","output_index":0,"content_index":0,"delta":"' +
        audio + '"}',
    );
  }

  /** Stops for good (the socket closed): the response in progress and the echo's timer. */
  close(): void {
    this.stop();
    clearInterval(this.#echoEnder);
  }

  #finish(status: "completed" | "cancelled"): void {
    const active = this.#active;
    if (!active) return;
    this.stop();
    this.#wire.send({
      type: "response.done",
      response: {
        id: active.id,
        status,
        // Broken down as the API does (text and audio, cached or not).
        usage: {
          input_tokens: 120,
          output_tokens: 40,
          total_tokens: 160,
          input_token_details: {
            text_tokens: 20,
            audio_tokens: 100,
            cached_tokens: 60,
            cached_tokens_details: { text_tokens: 10, audio_tokens: 50 },
          },
          output_token_details: { text_tokens: 10, audio_tokens: 30 },
        },
      },
    });
  }

  /** Drops the response in progress and any echo audio held, sending nothing. */
  stop(): void {
    this.#echoGather.drop();
    clearTimeout(this.#active?.timer);
    this.#active = null;
  }
}
