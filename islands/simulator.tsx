/**
 * Island: talk with an agent by typing. The page plays Twilio's side of ConversationRelay over
 * the real `/twilio/relay` socket, opened with a short-lived simulator token the server issues
 * to this admin session (browsers cannot sign a WebSocket like Twilio does).
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { hydrateIsland } from "./hydrate.ts";

/** Props of {@link Simulator}. */
export interface SimulatorProps {
  agents: string[];
}

/** One line of the conversation. */
interface Line {
  role: "caller" | "agent" | "note";
  text: string;
  /** The agent's turn is still streaming. */
  open?: boolean;
  interrupted?: boolean;
}

/** What `POST /simulator/token` answers. */
interface TokenAnswer {
  token: string;
  protocol: string;
  callSid: string;
  greeting: string;
}

type Status = "idle" | "connecting" | "live" | "ended";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** The simulator: agent choice, conversation, input, Interrupt and a DTMF pad. */
export function Simulator({ agents }: SimulatorProps) {
  const [agent, setAgent] = useState(agents[0] ?? "default");
  const [status, setStatus] = useState<Status>("idle");
  const [lines, setLines] = useState<Line[]>([]);
  const [text, setText] = useState("");
  const [callSid, setCallSid] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const socket = useRef<WebSocket | null>(null);
  /** The agent turn streaming now: what was shown of it, and since when. */
  const streaming = useRef<{ text: string; since: number } | null>(null);
  /** After a cut, the rest of that turn (up to its `last`) is not shown. */
  const skipRest = useRef(false);

  useEffect(() => () => socket.current?.close(1000), []);

  const add = (line: Line) => setLines((prev) => [...prev, line]);

  function onMessage(m: Record<string, unknown>): void {
    if (m.type === "text") {
      const token = String(m.token ?? "");
      const last = m.last === true;
      if (skipRest.current) {
        if (last) skipRest.current = false;
        return;
      }
      if (!streaming.current && !token) return;
      streaming.current ??= { text: "", since: Date.now() };
      streaming.current.text += token;
      if (last) streaming.current = null;
      setLines((prev) => {
        const tail = prev.at(-1);
        if (tail?.role === "agent" && tail.open) {
          return [...prev.slice(0, -1), { ...tail, text: tail.text + token, open: !last }];
        }
        return [...prev, { role: "agent", text: token, open: !last }];
      });
    } else if (m.type === "end") {
      add({ role: "note", text: "The agent ended the call." });
    } else if (m.type === "sendDigits") {
      add({ role: "note", text: `The agent sent the keys ${String(m.digits)}.` });
    } else if (m.type === "language") {
      add({ role: "note", text: `The agent switched to ${String(m.ttsLanguage)}.` });
    }
  }

  async function start(): Promise<void> {
    setError(null);
    setLines([]);
    setStatus("connecting");
    const res = await fetch("/simulator/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ agent }),
    });
    if (!res.ok) {
      setStatus("idle");
      setError(`The server refused a simulator token (${res.status}).`);
      return;
    }
    const answer = await res.json() as TokenAnswer;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/twilio/relay`, [
      answer.protocol,
      answer.token,
    ]);
    socket.current = ws;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify(setupMessage(answer.callSid, agent)));
      setCallSid(answer.callSid);
      setStatus("live");
      if (answer.greeting) add({ role: "agent", text: answer.greeting });
    });
    ws.addEventListener("message", (ev) => onMessage(JSON.parse(String(ev.data))));
    ws.addEventListener("close", () => {
      socket.current = null;
      streaming.current = null;
      setStatus((s) => (s === "connecting" ? "idle" : "ended"));
    });
    ws.addEventListener("error", () => setError("The call's socket failed."));
  }

  function send(message: Record<string, unknown>): void {
    socket.current?.send(JSON.stringify(message));
  }

  /** A new prompt supersedes the turn streaming now: its rest is not shown. */
  function cutStreaming(interrupted: boolean): string | null {
    const current = streaming.current;
    if (!current) return null;
    streaming.current = null;
    skipRest.current = true;
    setLines((prev) =>
      prev.map((l, i) => i === prev.length - 1 && l.open ? { ...l, open: false, interrupted } : l)
    );
    return current.text;
  }

  function say(event: Event): void {
    event.preventDefault();
    const words = text.trim();
    if (!words || status !== "live") return;
    cutStreaming(false);
    add({ role: "caller", text: words });
    send({ type: "prompt", voicePrompt: words, lang: "en-US", last: true });
    setText("");
  }

  function interrupt(): void {
    const since = streaming.current?.since ?? Date.now();
    const lastAgent = lines.findLast((l) => l.role === "agent");
    const heard = cutStreaming(true) ?? lastAgent?.text ?? "";
    send({
      type: "interrupt",
      utteranceUntilInterrupt: heard,
      durationUntilInterruptMs: Date.now() - since,
    });
    add({ role: "note", text: "You interrupted the agent." });
  }

  function press(digit: string): void {
    send({ type: "dtmf", digit });
    add({ role: "caller", text: `pressed ${digit}` });
  }

  const live = status === "live";
  return (
    <section class="simulator" data-status={status}>
      <div class="controls">
        <label>
          Agent{" "}
          <select
            id="sim-agent"
            value={agent}
            disabled={live}
            onChange={(e) => setAgent((e.target as HTMLSelectElement).value)}
          >
            {agents.map((a) => <option key={a} value={a}>{a}</option>)}
          </select>
        </label>
        {live
          ? (
            <button type="button" id="sim-hangup" onClick={() => socket.current?.close(1000)}>
              Hang up
            </button>
          )
          : (
            <button
              type="button"
              id="sim-start"
              disabled={status === "connecting"}
              onClick={() => void start()}
            >
              Start a call
            </button>
          )}
        <span class="status">
          {status}
          {callSid
            ? (
              <>
                {" "}· <a href={`/calls/${callSid}`}>{callSid}</a>
              </>
            )
            : null}
        </span>
      </div>
      {error ? <p class="problem">{error}</p> : null}
      <ol class="conversation" id="sim-lines">
        {lines.map((line, i) => (
          <li
            key={i}
            class={`line ${line.role}${line.open ? " streaming" : ""}${
              line.interrupted ? " interrupted" : ""
            }`}
          >
            {line.text}
            {line.interrupted ? <span class="tag">interrupted</span> : null}
          </li>
        ))}
      </ol>
      <form class="say" onSubmit={say}>
        <input
          id="sim-text"
          value={text}
          placeholder="Say something…"
          disabled={!live}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        <button type="submit" id="sim-send" disabled={!live}>Say</button>
        <button type="button" id="sim-interrupt" disabled={!live} onClick={interrupt}>
          Interrupt
        </button>
      </form>
      <div class="dtmf" aria-label="Keypad">
        {KEYS.map((k) => (
          <button key={k} type="button" disabled={!live} onClick={() => press(k)}>{k}</button>
        ))}
      </div>
    </section>
  );
}

/** The `setup` message Twilio sends first, for a simulated inbound call. */
function setupMessage(callSid: string, agent: string): Record<string, unknown> {
  return {
    type: "setup",
    sessionId: `VXsim${crypto.randomUUID().replaceAll("-", "")}`,
    accountSid: "",
    parentCallSid: "",
    callSid,
    from: "client:simulator",
    to: "client:callbridge",
    forwardedFrom: "",
    callType: "CLIENT",
    callerName: "Simulator",
    direction: "inbound",
    callStatus: "IN-PROGRESS",
    customParameters: { agent },
  };
}

if (typeof document !== "undefined") hydrateIsland("simulator", Simulator);
