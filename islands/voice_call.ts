/**
 * One voice-simulator call in the browser: the microphone and the speakers through the audio
 * worklet (`voice_worklet.ts`), and Twilio's side of the Media Stream over the real
 * `/twilio/stream` socket (messages from `lib/protocols/media_streams_caller.ts`, in Twilio's
 * order): `connected` and `start` first, a `media` frame every 20 ms (stamped on a real-time
 * clock, as Twilio's are: the frames' count, plus what the audio thread lost), marks echoed as
 * playout reaches them, `clear` obeyed, `dtmf` for the keypad, `stop` last. Whatever ends the
 * call — a hang-up, the service, an error — releases the microphone, the audio context and the
 * socket.
 *
 * @module
 */

import {
  base64ToBytes,
  bytesToBase64,
  CallerStream,
  parseStreamOutbound,
  simulatedStreamIds,
} from "../lib/protocols/media_streams_caller.ts";
import type { FromWorklet, ToWorklet } from "./voice_worklet.ts";

/** The worklet's processor (named in `voice_worklet.ts`, which only a worklet may load). */
const PROCESSOR = "callbridge-voice";
const WORKLET_URL = "/static/islands/voice_worklet.js";
const FRAME_MS = 20;

/** Where playout is (ms of agent audio), as the page shows it. */
export interface PlayoutState {
  playedMs: number;
  queuedMs: number;
  clearedAtMs: number | null;
  clearedWallMs: number | null;
  /** The time the audio thread had lost by the clear (ms; see the worklet's `LostTime`). */
  clearedLostMs: number | null;
  /** What had played by each wall-clock moment just before the clear (see the worklet). */
  clearedRecent: [number, number][] | null;
}

/** What the call tells its page. */
export interface VoiceCallEvents {
  /** The socket opened and `start` was sent. */
  live(): void;
  /** The input level of the last frame (0…1). */
  level(level: number): void;
  /**
   * Agent audio played so far, queued now, and at the last `clear` (ms), with when that clear
   * took effect (wall clock, ms).
   */
  playout(played: PlayoutState): void;
  /**
   * The call is over; `problem` says why when it was not a hang-up, `byService` when the service
   * closed the stream (its record then says why).
   */
  ended(problem: string | null, byService: boolean): void;
}

/** What the call needs to start: the token answer and the call's `<Parameter>`s. */
export interface VoiceCallSetup {
  token: string;
  protocol: string;
  callSid: string;
  customParameters: Record<string, string>;
}

/** The microphone, or why there is none, in words for the page. */
export async function openMicrophone(): Promise<MediaStream | string> {
  if (!navigator.mediaDevices?.getUserMedia) {
    return "This browser gives no microphone access here (it needs https or localhost).";
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: false, channelCount: 1 },
    });
  } catch (err) {
    const name = (err as DOMException)?.name ?? "";
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "The microphone was refused: allow it for this page (the icon in the address bar), " +
        "then start the call again.";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return "No microphone was found: connect one, then start the call again.";
    }
    if (name === "NotReadableError") {
      return "The microphone is in use by another program or could not be read.";
    }
    return `The microphone could not be opened (${name || String(err)}).`;
  }
}

/** A live voice call (see the module doc). */
export class VoiceCall {
  readonly #events: VoiceCallEvents;
  readonly #mic: MediaStream;
  readonly #stream: CallerStream;
  #context: AudioContext | null = null;
  #node: AudioWorkletNode | null = null;
  #socket: WebSocket | null = null;
  #frames = 0;
  #open = false;
  #ended = false;
  #clearedAtMs: number | null = null;
  #clearedWallMs: number | null = null;
  #clearedLostMs: number | null = null;
  #clearedRecent: [number, number][] | null = null;

  constructor(mic: MediaStream, callSid: string, events: VoiceCallEvents) {
    this.#mic = mic;
    this.#events = events;
    this.#stream = new CallerStream(simulatedStreamIds(callSid));
  }

  /** Sets up the audio, then opens the socket; a failure ends the call with its reason. */
  async start(setup: VoiceCallSetup): Promise<void> {
    try {
      const context = new AudioContext({ latencyHint: "interactive" });
      this.#context = context;
      await context.audioWorklet.addModule(WORKLET_URL);
      if (this.#ended) return;
      const node = new AudioWorkletNode(context, PROCESSOR, {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        outputChannelCount: [1],
      });
      this.#node = node;
      node.port.onmessage = (ev: MessageEvent<FromWorklet>) => this.#fromWorklet(ev.data);
      context.createMediaStreamSource(this.#mic).connect(node);
      node.connect(context.destination);
      // Pages opened by a link (autostart) may need a click before audio may play.
      if (context.state === "suspended") void context.resume();
    } catch (err) {
      return this.#end(`The audio could not be set up (${String(err)}).`);
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/twilio/stream`, [
      setup.protocol,
      setup.token,
    ]);
    this.#socket = socket;
    socket.addEventListener("open", () => {
      if (this.#ended) return socket.close(1000);
      this.#open = true;
      socket.send(this.#stream.connected());
      socket.send(this.#stream.start(setup.customParameters));
      this.#events.live();
    });
    socket.addEventListener("message", (ev) => this.#fromService(ev.data));
    socket.addEventListener("close", (ev) => {
      if (this.#ended) return;
      if (!this.#open) {
        return this.#end(
          "The service refused the call's socket (it may be draining or at " +
            "MAX_CONCURRENT_CALLS, or the page's token expired): start the call again.",
        );
      }
      // The service ends a stream by closing it normally; anything else is a dropped socket.
      if (ev.code === 1000 || ev.code === 1005) {
        return this.#end("The service ended the call.", true);
      }
      this.#end(`The call's socket dropped (code ${ev.code}${ev.reason ? `: ${ev.reason}` : ""}).`);
    });
  }

  /** The audio context's state: "suspended" until the page may play audio. */
  get audioState(): AudioContextState | "closed" {
    return this.#context?.state ?? "closed";
  }

  /** Resumes the audio after a click (browsers hold audio until one). */
  resumeAudio(): void {
    void this.#context?.resume();
  }

  /** Mutes the microphone: frames go on, as silence. */
  mute(muted: boolean): void {
    this.#toWorklet({ type: "mute", muted });
  }

  /** Presses a key: a `dtmf` message. */
  press(digit: string): void {
    if (this.#open && !this.#ended) this.#socket?.send(this.#stream.dtmf(digit));
  }

  /** Hangs up as Twilio does: `stop`, then the socket closes. */
  hangUp(): void {
    if (this.#open && this.#socket?.readyState === WebSocket.OPEN) {
      this.#socket.send(this.#stream.stop());
    }
    this.#end(null);
  }

  #fromWorklet(message: FromWorklet): void {
    if (this.#ended) return;
    if (message.type === "frame") {
      this.#events.level(message.level);
      if (!this.#open || this.#socket?.readyState !== WebSocket.OPEN) return;
      const timestamp = this.#frames * FRAME_MS + message.lostMs;
      this.#socket.send(this.#stream.media(bytesToBase64(message.bytes), timestamp));
      this.#frames++;
      return;
    }
    if (message.type === "cleared") {
      this.#clearedAtMs = message.playedMs;
      this.#clearedWallMs = message.at;
      this.#clearedLostMs = message.lostMs;
      this.#clearedRecent = message.recent;
    }
    for (const name of message.marks) this.#socket?.send(this.#stream.mark(name));
    this.#events.playout({
      playedMs: message.playedMs,
      queuedMs: message.type === "played" ? message.queuedMs : 0,
      clearedAtMs: this.#clearedAtMs,
      clearedWallMs: this.#clearedWallMs,
      clearedLostMs: this.#clearedLostMs,
      clearedRecent: this.#clearedRecent,
    });
  }

  #fromService(data: unknown): void {
    const parsed = parseStreamOutbound(data);
    if (!parsed.ok || this.#ended) return;
    const message = parsed.message;
    if (message.event === "media") {
      const bytes = base64ToBytes(message.payload);
      this.#toWorklet({ type: "media", bytes }, [bytes.buffer as ArrayBuffer]);
    } else if (message.event === "mark") this.#toWorklet({ type: "mark", name: message.name });
    else this.#toWorklet({ type: "clear" });
  }

  #toWorklet(message: ToWorklet, transfer: Transferable[] = []): void {
    this.#node?.port.postMessage(message, transfer);
  }

  #end(problem: string | null, byService = false): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const track of this.#mic.getTracks()) track.stop();
    this.#node?.disconnect();
    void this.#context?.close().catch(() => {});
    const socket = this.#socket;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000);
    this.#events.ended(problem, byService);
  }
}
