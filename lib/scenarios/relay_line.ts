/**
 * Twilio's side of a ConversationRelay call, for scenario runs: the `/twilio/relay` socket opened
 * with a simulator token (offered as a subprotocol from the service's own origin, as the
 * simulator page does), a `setup` like
 * Twilio's, then the caller's prompts, key presses, interruptions and hang-up. What the agent
 * says arrives token by token and is read a turn at a time ({@link RelayLine.nextTurn}).
 *
 * Playback is instant: the line reports `agentSpeaking` on at an answer's first token and off
 * at its end, as Twilio does with speaker events once the words are spoken, so a goodbye ends the
 * call at once instead of after an estimate of how long it takes to say.
 *
 * @module
 */

import type { SimulatedCall } from "../calls/simulated_call.ts";
import type { RelayOutbound, SetupMessage } from "../protocols/conversation_relay.ts";

/** One agent turn as the line read it. */
export interface AgentTurn {
  text: string;
  /** The service ended the call (after or instead of words). */
  ended: boolean;
}

/** The service ended the call: its `end` message's hand-off data, parsed. */
export interface LineEnd {
  handoff: Record<string, unknown> | null;
}

/** The agent said nothing for this long: the run fails with an error, not a check. */
export class LineTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not come within ${ms} ms`);
    this.name = "LineTimeout";
  }
}

/** Deno's WebSocket constructor with request headers (the DOM typing lacks them). */
type HeaderWebSocket = new (
  url: string,
  options: { protocols: string[]; headers: HeadersInit },
) => WebSocket;

/** An open simulated call. */
export class RelayLine {
  readonly #socket: WebSocket;
  /** Tokens of the turn being spoken now (null between turns). */
  #turn: string[] | null = null;
  /** Finished turns not read yet. */
  readonly #turns: AgentTurn[] = [];
  #waiter: (() => void) | null = null;
  #end: LineEnd | null = null;
  #closed = false;
  /** An interrupt cut the turn being spoken: its closing `last` is not a turn of its own. */
  #cut = false;
  readonly closed: Promise<void>;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", () => {
        this.#closed = true;
        this.#wake();
        resolve();
      });
    });
    socket.addEventListener("message", (ev) => this.#onMessage(String(ev.data)));
  }

  /** Opens `relayUrl` with the call's token and sends its `setup`. */
  static async open(
    relayUrl: string,
    call: SimulatedCall,
    options: { agent: string; timeoutMs: number },
  ): Promise<RelayLine> {
    // As a browser does (and the service requires of a simulator token): our Origin.
    const origin = new URL(relayUrl.replace(/^ws/, "http")).origin;
    const socket = new (WebSocket as unknown as HeaderWebSocket)(relayUrl, {
      protocols: [call.protocol, call.token],
      headers: { origin },
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.close();
        reject(new LineTimeout("the relay socket", options.timeoutMs));
      }, options.timeoutMs);
      socket.addEventListener("open", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
      socket.addEventListener("close", (ev) => {
        clearTimeout(timer);
        reject(new Error(`the relay socket closed before it opened (${ev.code})`));
      }, { once: true });
    });
    const line = new RelayLine(socket);
    line.#send({ ...setupOf(call, options.agent) });
    return line;
  }

  /** The caller says `text` (a final prompt). */
  say(text: string): void {
    this.#send({ type: "prompt", voicePrompt: text, lang: "en-US", last: true });
  }

  /** The caller presses `keys`, one `dtmf` message each. */
  press(keys: string): void {
    for (const digit of keys) this.#send({ type: "dtmf", digit });
  }

  /** The caller talks over the turn being spoken (after its first words): `interrupt`. */
  interrupt(): void {
    const heard = (this.#turn ?? []).join("");
    // Tokens already on their way and the cut turn's close are not a turn of their own.
    this.#cut = this.#turn !== null;
    this.#turn = null;
    this.#turns.length = 0;
    this.#send({
      type: "interrupt",
      utteranceUntilInterrupt: heard,
      durationUntilInterruptMs: heard.length * 60,
    });
  }

  /** The caller hangs up: the socket closes (as Twilio closes it when a call ends). */
  hangUp(): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close(1000);
  }

  /** How the service ended the call, or null (not ended by the service). */
  get end(): LineEnd | null {
    return this.#end;
  }

  /** Whether the socket is closed, by either side. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** The next finished agent turn; `ended` when the service ended the call instead. */
  async nextTurn(timeoutMs: number): Promise<AgentTurn> {
    await this.#until(() => this.#turns.length > 0 || this.#end !== null || this.#closed, {
      what: "the agent's answer",
      timeoutMs,
    });
    return this.#turns.shift() ?? { text: "", ended: true };
  }

  /** Resolves once the agent's next words arrive (or the call ends). */
  async firstWords(timeoutMs: number): Promise<void> {
    await this.#until(
      () =>
        (this.#turn?.length ?? 0) > 0 || this.#turns.length > 0 || this.#end !== null ||
        this.#closed,
      { what: "the agent's first words", timeoutMs },
    );
  }

  #until(ready: () => boolean, options: { what: string; timeoutMs: number }): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        reject(new LineTimeout(options.what, options.timeoutMs));
      }, options.timeoutMs);
      this.#waiter = () => {
        if (!ready()) return;
        clearTimeout(timer);
        this.#waiter = null;
        resolve();
      };
    });
  }

  #wake(): void {
    this.#waiter?.();
  }

  #onMessage(data: string): void {
    let message: RelayOutbound;
    try {
      message = JSON.parse(data) as RelayOutbound;
    } catch {
      return;
    }
    if (message.type === "text") {
      // A filler while a tool runs is replaced by the answer that follows: not a turn.
      if (message.preemptible) return;
      if (this.#cut) {
        if (message.last) this.#cut = false; // the cut turn's close
        return;
      }
      if (this.#turn === null) {
        this.#turn = [];
        this.#speaking("on");
      }
      if (message.token) this.#turn.push(message.token);
      if (message.last) {
        this.#turns.push({ text: this.#turn.join("").trim(), ended: false });
        this.#turn = null;
        this.#speaking("off");
      }
    } else if (message.type === "end") {
      this.#end = { handoff: handoffOf(message.handoffData) };
      // As Twilio does: the call is over, the socket closes.
      this.hangUp();
    }
    this.#wake();
  }

  #speaking(value: "on" | "off"): void {
    this.#send({ type: "info", name: "agentSpeaking", value });
  }

  #send(message: Record<string, unknown>): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }
}

function handoffOf(data: string | undefined): Record<string, unknown> | null {
  if (!data) return null;
  try {
    const value = JSON.parse(data);
    return value && typeof value === "object" ? value : null;
  } catch {
    return null;
  }
}

/** The `setup` Twilio would send for the simulated call (as the simulator page's). */
function setupOf(call: SimulatedCall, agent: string): SetupMessage {
  return {
    type: "setup",
    sessionId: `VXscn${crypto.randomUUID().replaceAll("-", "")}`,
    accountSid: "",
    parentCallSid: "",
    callSid: call.callSid,
    from: call.from,
    to: "client:callbridge",
    forwardedFrom: "",
    callType: call.from.startsWith("client:") ? "CLIENT" : "PSTN",
    callerName: "Scenario",
    direction: "inbound",
    callStatus: "IN-PROGRESS",
    customParameters: call.reference ? { agent, reference: call.reference } : { agent },
  };
}
