/**
 * Island: talk to a speech-to-speech agent from the browser. The page plays Twilio's side of a
 * bidirectional Media Stream over the real `/twilio/stream` socket (`voice_call.ts`), opened
 * with the same short-lived simulator token as the text mode; the bridge that serves phone
 * calls does the rest. What the socket cannot carry — the words on both sides, each turn's
 * latency, tool calls — arrives on `/simulator/events/:sid`.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { hydrateIsland } from "./hydrate.ts";
import { CallStatus } from "./call_status.ts";
import { openMicrophone, type PlayoutState, VoiceCall } from "./voice_call.ts";
import { type ToolItem, toolText, whenSubscribed } from "./simulator_feed.ts";

/** Props of {@link VoiceSimulator}. */
export interface VoiceSimulatorProps {
  agents: string[];
  /** The agent to start on (`?agent=`). */
  agent: string;
  /** Start a call as soon as the page is ready (`?autostart=1`). */
  autostart: boolean;
}

/** A line of the conversation, as the call's record has it (same `seq` = same line). */
interface Line {
  seq: number;
  role: "caller" | "agent" | "note" | "tool";
  text: string;
  interrupted?: boolean;
  /** Of an interrupted agent line: how much the caller heard. */
  heardMs?: number;
  failed?: boolean;
}

type Status = "idle" | "connecting" | "live" | "ended";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** The voice simulator: agent, caller, call controls, level, latency, transcript, keypad. */
export function VoiceSimulator({ agents, agent: initial, autostart }: VoiceSimulatorProps) {
  const [agent, setAgent] = useState(agents.includes(initial) ? initial : agents[0] ?? "default");
  const [from, setFrom] = useState("+15550100123");
  const [status, setStatus] = useState<Status>("idle");
  const [callSid, setCallSid] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [lines, setLines] = useState<Line[]>([]);
  const [latencies, setLatencies] = useState<number[]>([]);
  const [level, setLevel] = useState(0);
  const [muted, setMuted] = useState(false);
  const [audioHeld, setAudioHeld] = useState(false);
  const [playout, setPlayout] = useState<PlayoutState>({
    playedMs: 0,
    queuedMs: 0,
    clearedAtMs: null,
    clearedWallMs: null,
    clearedLostMs: null,
    clearedRecent: null,
  });
  const call = useRef<VoiceCall | null>(null);
  const events = useRef<EventSource | null>(null);
  const notes = useRef(0);
  /** The call's outcome, from its record (`ended` on the event stream). */
  const outcome = useRef<string | null>(null);
  /** The service closed the stream: its outcome is shown when the record says it. */
  const endedByService = useRef(false);
  /** Hang up was pressed while the call was still being set up. */
  const cancelled = useRef(false);

  useEffect(() => {
    if (autostart) void start();
    return () => {
      call.current?.hangUp();
      events.current?.close();
    };
  }, []);

  const note = (text: string) =>
    setLines((prev) => [...prev, { seq: -++notes.current, role: "note", text }]);

  /** Adds a line, or replaces the line with its `seq` (a transcript line saved again). */
  const upsert = (line: Line) =>
    setLines((prev) => {
      const at = prev.findIndex((l) => l.seq === line.seq);
      return at < 0 ? [...prev, line] : prev.map((l, i) => (i === at ? line : l));
    });

  async function start(): Promise<void> {
    setError(null);
    setLines([]);
    setLatencies([]);
    setStatus("connecting");
    outcome.current = null;
    endedByService.current = false;
    cancelled.current = false;
    call.current = null;
    const fail = (message: string) => {
      setError(message);
      setStatus("idle");
    };
    // The microphone first: refused, no call is opened at all.
    const mic = await openMicrophone();
    if (typeof mic === "string") return fail(mic);
    const release = () => {
      for (const track of mic.getTracks()) track.stop();
      events.current?.close();
      events.current = null;
      setStatus("idle");
    };
    if (cancelled.current) return release();
    const res = await fetch("/simulator/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ agent, from, mode: "voice" }),
    }).catch(() => null);
    if (cancelled.current) return release();
    if (!res?.ok) {
      release();
      const why = await res?.json().then((b) => String(b.error ?? "")).catch(() => "");
      return fail(
        res
          ? `The server refused to start a call (${res.status})${why ? `: ${why}` : "."}`
          : "The service cannot be reached.",
      );
    }
    const answer = await res.json() as {
      token: string;
      protocol: string;
      callSid: string;
      from: string;
      reference: string;
    };
    await watch(answer.callSid);
    if (cancelled.current) return release();
    const voice = new VoiceCall(mic, answer.callSid, {
      live: () => {
        setStatus("live");
        setAudioHeld(voice.audioState === "suspended");
      },
      level: (l) => setLevel(l),
      playout: (p) => setPlayout(p),
      ended: (problem, byService) => {
        setStatus("ended");
        setMuted(false);
        setLevel(0);
        endedByService.current = byService;
        // Ended by the service: the record's outcome is still to come on the event stream.
        if (byService && outcome.current === null && events.current) return setError(problem);
        setError(byService ? serviceEnded(outcome.current) : problem);
        events.current?.close();
        events.current = null;
      },
    });
    call.current = voice;
    setCallSid(answer.callSid);
    const customParameters: Record<string, string> = {
      agent,
      from: answer.from,
      to: "client:callbridge",
      direction: answer.reference ? "outbound-api" : "inbound",
    };
    if (answer.reference) customParameters.reference = answer.reference;
    await voice.start({ ...answer, customParameters });
  }

  /** Follows the call's words, latencies and tool calls; resolves once subscribed. */
  function watch(sid: string): Promise<void> {
    const source = new EventSource(`/simulator/events/${sid}`);
    events.current = source;
    source.addEventListener("transcript", (ev) => {
      const t = JSON.parse((ev as MessageEvent).data);
      const { seq, role, text, interrupted, heardMs } = t;
      upsert({ seq, role, text, interrupted, heardMs });
    });
    source.addEventListener("latency", (ev) => {
      const { latencyMs } = JSON.parse((ev as MessageEvent).data);
      if (typeof latencyMs === "number") setLatencies((prev) => [...prev, Math.round(latencyMs)]);
    });
    source.addEventListener("ended", (ev) => {
      outcome.current = String(JSON.parse((ev as MessageEvent).data).outcome ?? "");
      if (!endedByService.current) return;
      setError(serviceEnded(outcome.current));
      source.close();
      events.current = null;
    });
    source.addEventListener("tool", (ev) => {
      const item = JSON.parse((ev as MessageEvent).data) as ToolItem;
      setLines((prev) => [...prev, {
        seq: -++notes.current,
        role: "tool",
        text: toolText(item),
        failed: !item.ok,
      }]);
    });
    return whenSubscribed(
      source,
      () => note("The words cannot be shown live (the event stream failed); the call goes on."),
    );
  }

  function hangUp(): void {
    if (call.current) return call.current.hangUp();
    cancelled.current = true;
  }

  function toggleMute(): void {
    call.current?.mute(!muted);
    setMuted(!muted);
  }

  const live = status === "live";
  const busy = live || status === "connecting";
  const last = latencies.at(-1);
  return (
    <section
      class="simulator voice"
      data-status={status}
      data-played-ms={Math.round(playout.playedMs)}
      data-queued-ms={Math.round(playout.queuedMs)}
      data-cleared-at-ms={Math.round(playout.clearedAtMs ?? -1)}
      data-cleared-wall-ms={playout.clearedWallMs ?? -1}
      data-cleared-lost-ms={playout.clearedLostMs ?? -1}
      data-cleared-recent={JSON.stringify(playout.clearedRecent ?? [])}
    >
      <div class="controls">
        <label>
          Agent{" "}
          <select
            id="voice-agent"
            value={agent}
            disabled={busy}
            onChange={(e) => setAgent((e.target as HTMLSelectElement).value)}
          >
            {agents.map((a) => <option key={a} value={a} selected={a === agent}>{a}</option>)}
          </select>
        </label>
        <label>
          Caller{" "}
          <input
            id="voice-from"
            value={from}
            size={16}
            disabled={busy}
            onInput={(e) => setFrom((e.target as HTMLInputElement).value)}
          />
        </label>
        {busy
          ? (
            <button type="button" id="voice-hangup" onClick={hangUp}>
              Hang up
            </button>
          )
          : (
            <button type="button" id="voice-start" onClick={() => void start()}>
              Start a voice call
            </button>
          )}
        <button type="button" id="voice-mute" disabled={!live} onClick={toggleMute}>
          {muted ? "Unmute" : "Mute"}
        </button>
        <CallStatus status={status} callSid={callSid} />
      </div>
      <div class="meters">
        <label>
          Input{" "}
          <meter id="voice-level" min={0} max={1} low={0.02} high={0.5} value={muted ? 0 : level} />
        </label>
        <span id="voice-latency" class="latency" title="speech stopped → first agent audio">
          {last === undefined ? "latency —" : `latency ${last} ms`}
          {latencies.length > 1 ? ` (turns: ${latencies.join(", ")} ms)` : ""}
        </span>
        {audioHeld && live
          ? (
            <button
              type="button"
              id="voice-audio"
              onClick={() => {
                call.current?.resumeAudio();
                setAudioHeld(false);
              }}
            >
              Allow audio
            </button>
          )
          : null}
      </div>
      {error ? <p class="problem" id="voice-problem">{error}</p> : null}
      <ol class="conversation" id="voice-lines">
        {lines.map((line) => (
          <li
            key={line.seq}
            class={`line ${line.role}${line.interrupted ? " interrupted" : ""}${
              line.failed ? " failed" : ""
            }`}
          >
            {line.text || (line.interrupted ? "…" : "")}
            {line.interrupted
              ? (
                <span class="tag">
                  {line.heardMs === undefined
                    ? "interrupted"
                    : `interrupted · heard ${Math.round(line.heardMs)} ms`}
                </span>
              )
              : null}
          </li>
        ))}
      </ol>
      <div class="dtmf" aria-label="Keypad">
        {KEYS.map((k) => (
          <button
            key={k}
            type="button"
            disabled={!live}
            onClick={() => call.current?.press(k)}
          >
            {k}
          </button>
        ))}
      </div>
    </section>
  );
}

/** What the page says when the service ended the call, with the record's outcome if known. */
function serviceEnded(outcome: string | null): string {
  return outcome ? `The service ended the call (${outcome}).` : "The service ended the call.";
}

if (typeof document !== "undefined") hydrateIsland("voice_simulator", VoiceSimulator);
