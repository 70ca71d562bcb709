/**
 * Island: talk with an agent by typing. The page plays Twilio's side of ConversationRelay over
 * the real `/twilio/relay` socket, opened with a short-lived simulator token the server issues
 * to this admin session (browsers cannot sign a WebSocket like Twilio does). The caller's number
 * and outbound-style params are sent with the token request, so templates render as on a real
 * call; the call's tool calls arrive live on `/simulator/events/:sid` (server-sent events), so
 * the socket carries only what Twilio's would.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import type { SimulatedCall } from "../lib/calls/simulated_call.ts";
import { hydrateIsland } from "./hydrate.ts";
import { CallStatus } from "./call_status.ts";
import { type ToolItem, toolText, whenSubscribed } from "./simulator_feed.ts";

/** Props of {@link Simulator}. */
export interface SimulatorProps {
  agents: string[];
}

/** One line of the conversation. */
interface Line {
  role: "caller" | "agent" | "note" | "tool";
  /** A tool call that failed. */
  failed?: boolean;
  text: string;
  /** The agent's turn is still streaming. */
  open?: boolean;
  interrupted?: boolean;
}

/** What `POST /simulator/token` answers. */
type TokenAnswer = SimulatedCall;

/** A finished tool call, as `/simulator/events/:sid` sends it. */
type Status = "idle" | "connecting" | "live" | "ended";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** The simulator: agent choice, conversation, input, Interrupt and a DTMF pad. */
export function Simulator({ agents }: SimulatorProps) {
  const [agent, setAgent] = useState(
    agents.includes("default") ? "default" : agents[0] ?? "default",
  );
  const [from, setFrom] = useState("+15550100123");
  const [params, setParams] = useState("");
  const [status, setStatus] = useState<Status>("idle");
  const [lines, setLines] = useState<Line[]>([]);
  const [text, setText] = useState("");
  const [callSid, setCallSid] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const socket = useRef<WebSocket | null>(null);
  const events = useRef<EventSource | null>(null);
  /** The agent turn streaming now: what was shown of it, and since when. */
  const streaming = useRef<{ text: string; since: number } | null>(null);
  /** After a cut, the rest of that turn (up to its `last`) is not shown. */
  const skipRest = useRef(false);

  useEffect(() => () => {
    socket.current?.close(1000);
    events.current?.close();
  }, []);

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
      // Twilio hangs up at once: nothing more can be said or pressed.
      add({ role: "note", text: "The agent ended the call." });
      setStatus("ended");
      socket.current?.close(1000);
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
      body: new URLSearchParams({ agent, from, params }),
    });
    if (!res.ok) {
      setStatus("idle");
      const why = await res.json().then((b) => String(b.error ?? "")).catch(() => "");
      setError(`The server refused a simulator token (${res.status})${why ? `: ${why}` : "."}`);
      return;
    }
    const answer = await res.json() as TokenAnswer;
    await watchTools(answer.callSid);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/twilio/relay`, [
      answer.protocol,
      answer.token,
    ]);
    socket.current = ws;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify(setupMessage(answer, agent)));
      setCallSid(answer.callSid);
      setStatus("live");
      if (answer.greeting) add({ role: "agent", text: answer.greeting });
    });
    ws.addEventListener("message", (ev) => onMessage(JSON.parse(String(ev.data))));
    ws.addEventListener("close", () => {
      socket.current = null;
      streaming.current = null;
      events.current?.close();
      events.current = null;
      setStatus((s) => (s === "connecting" ? "idle" : "ended"));
    });
    ws.addEventListener("error", () => setError("The call's socket failed."));
  }

  /** Subscribes to the call's tool calls; resolves once subscribed (or when that failed). */
  function watchTools(callSid: string): Promise<void> {
    const source = new EventSource(`/simulator/events/${callSid}`);
    events.current = source;
    source.addEventListener("tool", (ev) => {
      const item = JSON.parse((ev as MessageEvent).data) as ToolItem;
      add({
        role: "tool",
        text: toolText(item),
        failed: !item.ok,
      });
    });
    return whenSubscribed(
      source,
      () =>
        add({ role: "note", text: "Tool calls cannot be shown live (the event stream failed)." }),
    );
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
            {agents.map((a) => (
              // `selected` too: the server's HTML must start on the same agent as the island.
              <option key={a} value={a} selected={a === agent}>{a}</option>
            ))}
          </select>
        </label>
        <label>
          Caller{" "}
          <input
            id="sim-from"
            value={from}
            size={16}
            disabled={live || status === "connecting"}
            onInput={(e) => setFrom((e.target as HTMLInputElement).value)}
          />
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
        <CallStatus status={status} callSid={callSid} />
      </div>
      <label class="params">
        Params (JSON, as <code>POST /api/calls</code> takes them; the call then runs as outbound)
        {" "}
        <textarea
          id="sim-params"
          rows={2}
          placeholder='{"customerName": "Ada"}'
          value={params}
          disabled={live || status === "connecting"}
          onInput={(e) => setParams((e.target as HTMLTextAreaElement).value)}
        />
      </label>
      {error ? <p class="problem">{error}</p> : null}
      <ol class="conversation" id="sim-lines">
        {lines.map((line, i) => (
          <li
            key={i}
            class={`line ${line.role}${line.open ? " streaming" : ""}${
              line.interrupted ? " interrupted" : ""
            }${line.failed ? " failed" : ""}`}
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

/** The `setup` message Twilio sends first, for the simulated call `answer` describes. */
function setupMessage(answer: TokenAnswer, agent: string): Record<string, unknown> {
  const { callSid, from, reference } = answer;
  return {
    type: "setup",
    sessionId: `VXsim${crypto.randomUUID().replaceAll("-", "")}`,
    accountSid: "",
    parentCallSid: "",
    callSid,
    from,
    to: "client:callbridge",
    forwardedFrom: "",
    callType: from.startsWith("client:") ? "CLIENT" : "PSTN",
    callerName: "Simulator",
    direction: "inbound",
    callStatus: "IN-PROGRESS",
    customParameters: reference ? { agent, reference } : { agent },
  };
}

if (typeof document !== "undefined") hydrateIsland("simulator", Simulator);
