/**
 * A Twilio ConversationRelay client for tests: opens the signed socket, speaks Twilio's side of
 * the protocol with messages built from the verbatim examples of Twilio's docs (field order
 * included, see `tests/fixtures/`) and lets a test wait for what the service sends back.
 *
 * Like Twilio, it checks every message the service sends against the rules of Twilio's docs
 * (`checkRelayMessage`): an invalid one is dropped (not acted upon, not in `received`), recorded
 * in `invalid` and answered with an `error` message, as Twilio answers with error 64107; ten
 * invalid messages in a row close the socket with 1007. `hangUp` fails if any was seen, so a
 * test cannot pass while the service sends what Twilio would refuse. Like Twilio, it closes the
 * socket (1000) when it receives `end`.
 */

import twilio from "twilio";
import { NoDelayWebSocket } from "../../lib/platform/ws_client.ts";
import { EventLog } from "./event_log.ts";
import { TWILIO_CALLS } from "./twilio_calls.ts";
import { CONVERSATION_RELAY, twilioFrame } from "./twilio_frames.ts";
import { checkRelayMessage } from "./twilio_validation.ts";

/** A message the service sent, as parsed JSON. */
export type Received = Record<string, unknown> & { type: string };

/** A message Twilio would have refused (error 64107), as the fake received it. */
export interface InvalidMessage {
  /** The frame as received (a binary frame as a placeholder). */
  raw: string;
  problem: string;
}

/** After this many invalid messages in a row, Twilio closes the socket (1007). */
export const MALFORMED_IN_A_ROW = 10;

/** Options of {@link RelayClient.connect}. */
export interface RelayClientOptions {
  authToken: string;
  /** Overrides the computed signature (null = send none). */
  signature?: string | null;
  /** The public base URL the service believes it has (default: `serviceUrl`). */
  publicUrl?: string;
  path?: string;
  /** Use Deno's built-in WebSocket client instead of the no-delay one. */
  denoWebSocket?: boolean;
  /** The call's SID (default: a new one), e.g. the one a webhook was already asked about. */
  callSid?: string;
}

const DEFAULT_TIMEOUT_MS = 5000;

/** A fresh call SID: `CA` and 32 hex digits, as Twilio's. */
export function newCallSid(): string {
  return `CA${crypto.randomUUID().replaceAll("-", "")}`;
}

/** What the client needs of a WebSocket (the no-delay client's or Deno's own). */
interface ClientSocket {
  readonly readyState: number;
  send(data: string | Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", cb: (ev: { data: unknown }) => void): void;
  addEventListener(type: "close", cb: (ev: CloseEvent) => void): void;
  addEventListener(type: "open" | "error", cb: () => void): void;
}

/** Deno's WebSocket constructor with request headers (the DOM typing lacks them). */
type HeaderWebSocket = new (url: string, options: { headers: HeadersInit }) => ClientSocket;

/** One fake Twilio call on the ConversationRelay socket. */
export class RelayClient {
  readonly received: Received[] = [];
  /** Every message Twilio would have refused, in order. */
  readonly invalid = new EventLog<InvalidMessage>();
  /** Arrival time (`performance.now()`) of each received message. */
  readonly arrivals: number[] = [];
  readonly callSid: string;
  /** The numbers `setup` reports (unless told otherwise). */
  readonly from = "+15550100123";
  readonly to = "+15550100999";
  readonly closed: Promise<CloseEvent>;
  #cursor = 0;
  #wake: (() => void) | null = null;
  /** Invalid messages since the last valid one. */
  #malformedInARow = 0;

  private constructor(readonly socket: ClientSocket, callSid?: string) {
    this.callSid = callSid ?? newCallSid();
    TWILIO_CALLS.add(this.callSid);
    this.closed = new Promise((resolve) => socket.addEventListener("close", resolve));
    socket.addEventListener("message", (ev) => {
      const checked = checkRelayMessage(ev.data);
      if ("problem" in checked) return this.#refuse(ev.data, checked.problem);
      this.#malformedInARow = 0;
      const msg = checked.message as Received;
      this.received.push(msg);
      this.arrivals.push(performance.now());
      if (msg.type === "end") socket.close(1000);
      this.#wake?.();
    });
    socket.addEventListener("close", () => this.#wake?.());
  }

  /**
   * What Twilio does with an invalid message: it is not processed, the app gets an `error`
   * (error 64107), and the tenth in a row closes the socket with 1007.
   */
  #refuse(data: unknown, problem: string): void {
    const raw = typeof data === "string" ? data : "(binary frame)";
    this.invalid.push({ raw, problem });
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.error(`Invalid message received: ${raw.slice(0, 500)}`);
    if (++this.#malformedInARow >= MALFORMED_IN_A_ROW) {
      this.socket.close(1007, "Too many consecutive malformed messages.");
    }
  }

  /** Throws if the service sent any message Twilio would have refused. */
  assertNoInvalid(): void {
    const invalid = this.invalid.items;
    if (invalid.length === 0) return;
    const list = invalid.slice(0, 5).map((m) => `${m.problem}: ${m.raw.slice(0, 200)}`);
    throw new Error(
      `call ${this.callSid}: the service sent ${invalid.length} message(s) Twilio would ` +
        `refuse (error 64107):\n  ${list.join("\n  ")}`,
    );
  }

  /** Opens the socket at `serviceUrl` (http://127.0.0.1:PORT), signed like Twilio signs it. */
  static async connect(serviceUrl: string, options: RelayClientOptions): Promise<RelayClient> {
    const path = options.path ?? "/twilio/relay";
    const wsUrl = `${serviceUrl.replace(/^http/, "ws")}${path}`;
    const signedUrl = `${(options.publicUrl ?? serviceUrl).replace(/^http/, "ws")}${path}`;
    const signature = options.signature === undefined
      ? twilio.getExpectedTwilioSignature(options.authToken, signedUrl, {})
      : options.signature;
    const headers: Record<string, string> = {};
    if (signature !== null) headers["X-Twilio-Signature"] = signature;
    // Twilio writes back-to-back frames at once; Deno's built-in client holds the second one
    // for up to ~40 ms (Nagle), which would slow every test down. Deno's client is cheaper to
    // receive with, though: the token-latency benchmark (which only receives fast) asks for it.
    const socket = options.denoWebSocket
      ? new (WebSocket as unknown as HeaderWebSocket)(wsUrl, { headers })
      : new NoDelayWebSocket(wsUrl, { headers });
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve());
      socket.addEventListener("error", () => reject(new Error("WebSocket failed to open")));
    });
    return new RelayClient(socket, options.callSid);
  }

  send(message: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(message));
  }

  sendRaw(data: string | Uint8Array<ArrayBuffer>): void {
    this.socket.send(data);
  }

  /** Sends `setup` as Twilio does at the start of a session (`extra`: other setup fields). */
  setup(customParameters: Record<string, string> = {}, extra: Record<string, unknown> = {}): void {
    this.sendRaw(twilioFrame(CONVERSATION_RELAY.fromTwilio.setup, {
      sessionId: `VX${crypto.randomUUID().replaceAll("-", "")}`,
      accountSid: "AC00000000000000000000000000000000",
      parentCallSid: "",
      callSid: this.callSid,
      from: this.from,
      to: this.to,
      forwardedFrom: "",
      callType: "PSTN",
      callerName: "",
      direction: "inbound",
      callStatus: "RINGING",
      customParameters,
      ...extra,
    }));
  }

  prompt(text: string, last = true): void {
    this.sendRaw(twilioFrame(CONVERSATION_RELAY.fromTwilio.prompt, {
      voicePrompt: text,
      lang: "en-US",
      last,
    }));
  }

  dtmf(digit: string): void {
    this.sendRaw(twilioFrame(CONVERSATION_RELAY.fromTwilio.dtmf, { digit }));
  }

  interrupt(utterance: string, durationMs: number | string = 500): void {
    this.sendRaw(twilioFrame(CONVERSATION_RELAY.fromTwilio.interrupt, {
      utteranceUntilInterrupt: utterance,
      durationUntilInterruptMs: durationMs,
    }));
  }

  /** A speaker event (`events="speaker-events"`): the agent's or the caller's voice on or off. */
  speaking(who: "agent" | "client", on: boolean): void {
    this.sendRaw(twilioFrame(CONVERSATION_RELAY.fromTwilio.info, {
      name: `${who}Speaking`,
      value: on ? "on" : "off",
    }));
  }

  /** An `error` as Twilio reports an invalid message it received. */
  error(description: string): void {
    this.sendRaw(twilioFrame(CONVERSATION_RELAY.fromTwilio.error, { description }));
  }

  /** The next message from the cursor on that matches `predicate`; advances past it. */
  async next(
    predicate: (m: Received) => boolean = () => true,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<Received> {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      while (this.#cursor < this.received.length) {
        const msg = this.received[this.#cursor++];
        if (predicate(msg)) return msg;
      }
      if (this.socket.readyState === WebSocket.CLOSED) {
        throw new Error("socket closed while waiting for a message");
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no matching message within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = null;
    }
  }

  /** Collects `text` messages until one with `last:true`; returns the tokens and their text. */
  async turn(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{ tokens: string[]; text: string }> {
    const tokens: string[] = [];
    while (true) {
      const msg = await this.next((m) => m.type === "text", timeoutMs);
      tokens.push(msg.token as string);
      if (msg.last === true) return { tokens, text: tokens.join("") };
    }
  }

  /**
   * Closes like a caller hanging up (1000) and waits for the close to complete; then fails if
   * the service sent any message Twilio would have refused.
   */
  async hangUp(): Promise<void> {
    await this.disconnect();
    this.assertNoInvalid();
  }

  /** Closes like a caller hanging up (1000) and waits for the close to complete. */
  async disconnect(): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close(1000);
    await this.closed;
  }
}
