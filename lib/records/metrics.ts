/**
 * Process metrics in Prometheus text format: calls by path and outcome, per-turn latency
 * histograms, barge-ins, model errors, tool calls and Realtime frames.
 *
 * Fed by the call recorder (which sees every call's events, latencies and end) through
 * {@link CallObserver}; live-call gauges are read from the registry at scrape time. Labels are
 * bounded: the call path, an agent name known at start-up (else `other`) and short outcome words.
 * Never phone numbers or SIDs.
 *
 * @module
 */

import type { CallObserver } from "./call_recorder.ts";
import type { CallEventRecord, CallMode, CallRecord, TurnLatency } from "./call_store.ts";

/** Upper bounds (seconds) of the turn-latency histogram buckets. */
export const LATENCY_BUCKETS = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10] as const;
/** Distinct label sets one metric may hold; later ones are folded into `other`. */
const MAX_SERIES = 200;
const WORD = /^[a-z][a-z0-9_-]{0,39}$/;

type Labels = Record<string, string>;

/** A counter with labels, capped at {@link MAX_SERIES} label sets. */
class CounterVec {
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}

  inc(labels: Labels, by = 1): void {
    let key = labelText(labels);
    if (!this.#values.has(key) && this.#values.size >= MAX_SERIES) {
      key = labelText(Object.fromEntries(Object.keys(labels).map((k) => [k, "other"])));
    }
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const [labels, value] of this.#values) out.push(`${this.name}${labels} ${value}`);
  }
}

/** A histogram per call path. */
class Histogram {
  readonly #series = new Map<string, { buckets: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly bounds: readonly number[]) {}

  observe(mode: CallMode, value: number): void {
    let s = this.#series.get(mode);
    if (!s) {
      s = { buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.#series.set(mode, s);
    }
    this.bounds.forEach((bound, i) => {
      if (value <= bound) s.buckets[i]++;
    });
    s.sum += value;
    s.count++;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const [mode, s] of this.#series) {
      this.bounds.forEach((bound, i) => {
        out.push(`${this.name}_bucket${labelText({ mode, le: String(bound) })} ${s.buckets[i]}`);
      });
      out.push(`${this.name}_bucket${labelText({ mode, le: "+Inf" })} ${s.count}`);
      out.push(`${this.name}_sum${labelText({ mode })} ${round(s.sum)}`);
      out.push(`${this.name}_count${labelText({ mode })} ${s.count}`);
    }
  }
}

/** The service's counters; one per process, held by `Services`. */
export class Metrics implements CallObserver {
  readonly #agents: ReadonlySet<string>;
  readonly #started = new CounterVec(
    "callbridge_calls_started_total",
    "Calls that started, by call path and agent.",
  );
  readonly #ended = new CounterVec(
    "callbridge_calls_total",
    "Calls that ended, by call path, agent and outcome.",
  );
  readonly #turns = new CounterVec(
    "callbridge_turns_total",
    "Agent turns, by call path and outcome.",
  );
  readonly #interrupts = new CounterVec(
    "callbridge_interrupts_total",
    "Callers cutting the agent off (relay interrupt, realtime barge-in), by call path.",
  );
  readonly #errors = new CounterVec(
    "callbridge_model_errors_total",
    "LLM or Realtime errors recorded on calls, by call path.",
  );
  readonly #tools = new CounterVec("callbridge_tool_calls_total", "Tool calls, by call path.");
  readonly #frames = new CounterVec(
    "callbridge_realtime_frames_total",
    "Media Streams frames relayed by realtime bridges, by direction.",
  );
  readonly #latency = new Histogram(
    "callbridge_turn_latency_seconds",
    "Per-turn latency: relay prompt to first token, realtime speech end to first audio.",
    LATENCY_BUCKETS,
  );

  constructor(options: { agents: Iterable<string> }) {
    this.#agents = new Set(options.agents);
  }

  opened(record: Readonly<CallRecord>): void {
    this.#started.inc({ mode: record.mode, agent: this.#agent(record.agent) });
  }

  event(record: Readonly<CallRecord>, type: CallEventRecord["type"]): void {
    const mode = record.mode;
    if (type === "interrupt" || type === "barge_in") this.#interrupts.inc({ mode });
    else if (type === "error") this.#errors.inc({ mode });
    else if (type === "tool") this.#tools.inc({ mode });
  }

  latency(record: Readonly<CallRecord>, turn: TurnLatency): void {
    this.#turns.inc({ mode: record.mode, outcome: word(turn.outcome) });
    if (turn.latencyMs !== null) this.#latency.observe(record.mode, turn.latencyMs / 1000);
  }

  frames(_record: Readonly<CallRecord>, framesIn: number, framesOut: number): void {
    this.#frames.inc({ direction: "in" }, framesIn);
    this.#frames.inc({ direction: "out" }, framesOut);
  }

  ended(record: Readonly<CallRecord>): void {
    this.#ended.inc({
      mode: record.mode,
      agent: this.#agent(record.agent),
      outcome: word(record.outcome),
    });
  }

  /** The metrics as Prometheus text, with the live calls of this instance by mode. */
  render(live: Record<CallMode, number>): string {
    const out = [
      "# HELP callbridge_active_calls Live calls in this instance, by call path.",
      "# TYPE callbridge_active_calls gauge",
    ];
    for (const [mode, n] of Object.entries(live)) {
      out.push(`callbridge_active_calls${labelText({ mode })} ${n}`);
    }
    for (const metric of [this.#started, this.#ended, this.#turns, this.#interrupts]) {
      metric.render(out);
    }
    for (const metric of [this.#errors, this.#tools, this.#frames, this.#latency]) {
      metric.render(out);
    }
    return out.join("\n") + "\n";
  }

  #agent(name: string): string {
    return this.#agents.has(name) ? name : "other";
  }
}

/** A short lower-case word as is; anything else (free text, numbers, ids) becomes `other`. */
function word(value: string): string {
  return WORD.test(value) ? value : "other";
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
