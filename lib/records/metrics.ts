/**
 * Process metrics for `/metrics`, built with prom-client in a registry of their own: calls by
 * path and outcome, per-turn latency histograms, barge-ins, model errors, tool calls, Realtime
 * frames, limit hits, live calls and the drain state.
 *
 * Fed by the call recorder (which sees every call's events, latencies and end) through
 * {@link CallObserver}, never per audio frame; live calls, limit hits and draining are read at
 * scrape time by prom-client `collect()` callbacks. Each {@link Metrics} has its own `Registry`
 * (never prom-client's global one), so two services in one process count apart. Labels are
 * bounded: the call path, an agent name known at start-up (else `other`) and short outcome words,
 * at most {@link MAX_SERIES} label sets a metric. Never phone numbers or SIDs.
 *
 * @module
 */

import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CallObserver } from "./call_recorder.ts";
import type { CallEventRecord, CallMode, CallRecord, TurnLatency } from "./call_store.ts";

/** Upper bounds (seconds) of the turn-latency histogram buckets. */
export const LATENCY_BUCKETS = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10] as const;
/** Distinct label sets one counter may hold; later ones are folded into `other`. */
export const MAX_SERIES = 200;
const WORD = /^[a-z][a-z0-9_-]{0,39}$/;

/** What {@link Metrics} reads at scrape time; each part may be left out (then not exposed). */
export interface MetricsOptions {
  /**
   * The agent names known at start-up, or a check of a name (agents created later count too);
   * any other becomes `other`.
   */
  agents: Iterable<string> | { has(name: string): boolean };
  /** The live calls of this instance by call path. */
  liveCalls?: () => Record<CallMode, number>;
  /** Calls, messages or requests refused, by limit name (the services' `limitHits`). */
  limitHits?: ReadonlyMap<string, number>;
  /** Whether this instance drains. */
  draining?: () => boolean;
  /** End-of-call webhooks that ran out of retries (read from KV at scrape time). */
  undeliveredWebhooks?: () => Promise<number>;
  /** Which instance this is, exposed as `callbridge_instance_info{instance_id, version} 1`. */
  instance?: { id: string; version: string };
}

/** The service's metrics in their own prom-client registry; one per `Services`. */
export class Metrics implements CallObserver {
  /** The registry `/metrics` serves (`await registry.metrics()`, `registry.contentType`). */
  readonly registry = new Registry();
  readonly #agents: { has(name: string): boolean };
  /** The label sets each counter holds, for the {@link MAX_SERIES} cap. */
  readonly #series = new Map<object, Set<string>>();
  readonly #started: Counter<"mode" | "agent">;
  readonly #ended: Counter<"mode" | "agent" | "outcome">;
  readonly #turns: Counter<"mode" | "outcome">;
  readonly #interrupts: Counter<"mode">;
  readonly #errors: Counter<"mode">;
  readonly #tools: Counter<"mode">;
  readonly #frames: Counter<"direction">;
  readonly #latency: Histogram<"mode">;
  readonly #disabled: Counter<"agent">;
  readonly #results: Counter<"agent" | "result">;
  readonly #deliveries: Counter<"result">;

  constructor(options: MetricsOptions) {
    this.#agents = "has" in options.agents ? options.agents : new Set(options.agents);
    const registers = [this.registry];
    // Registered (and so exposed) in this order, the order of the hand-written text before.
    const { liveCalls, limitHits, draining, undeliveredWebhooks } = options;
    new Gauge({
      name: "callbridge_active_calls",
      help: "Live calls in this instance, by call path.",
      labelNames: ["mode"],
      registers,
      collect() {
        if (!liveCalls) return;
        for (const [mode, n] of Object.entries(liveCalls())) this.set({ mode }, n);
      },
    });
    this.#started = new Counter({
      name: "callbridge_calls_started_total",
      help: "Calls that started, by call path and agent.",
      labelNames: ["mode", "agent"],
      registers,
    });
    this.#ended = new Counter({
      name: "callbridge_calls_total",
      help: "Calls that ended, by call path, agent and outcome.",
      labelNames: ["mode", "agent", "outcome"],
      registers,
    });
    this.#turns = new Counter({
      name: "callbridge_turns_total",
      help: "Agent turns, by call path and outcome.",
      labelNames: ["mode", "outcome"],
      registers,
    });
    this.#interrupts = new Counter({
      name: "callbridge_interrupts_total",
      help: "Callers cutting the agent off (relay interrupt, realtime barge-in), by call path.",
      labelNames: ["mode"],
      registers,
    });
    this.#errors = new Counter({
      name: "callbridge_model_errors_total",
      help: "LLM or Realtime errors recorded on calls, by call path.",
      labelNames: ["mode"],
      registers,
    });
    this.#tools = new Counter({
      name: "callbridge_tool_calls_total",
      help: "Tool calls, by call path.",
      labelNames: ["mode"],
      registers,
    });
    this.#frames = new Counter({
      name: "callbridge_realtime_frames_total",
      help: "Media Streams frames relayed by realtime bridges, by direction.",
      labelNames: ["direction"],
      registers,
    });
    this.#latency = new Histogram({
      name: "callbridge_turn_latency_seconds",
      help: "Per-turn latency: relay prompt to first token, realtime speech end to first audio.",
      labelNames: ["mode"],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    this.#disabled = new Counter({
      name: "callbridge_disabled_agent_calls_total",
      help: "Calls for an agent disabled by its profile's problems, answered with an apology.",
      labelNames: ["agent"],
      registers,
    });
    this.#results = new Counter({
      name: "callbridge_call_results_total",
      help: "Calls analysed after they ended, by agent and analysis outcome (failed: no analysis).",
      labelNames: ["agent", "result"],
      registers,
    });
    this.#deliveries = new Counter({
      name: "callbridge_webhook_attempts_total",
      help: "End-of-call webhook attempts, by result (delivered, failed, refused).",
      labelNames: ["result"],
      registers,
    });
    if (undeliveredWebhooks) {
      new Gauge({
        name: "callbridge_webhooks_undelivered",
        help: "End-of-call webhooks that ran out of retries and wait to be sent again.",
        registers,
        async collect() {
          this.set(await undeliveredWebhooks());
        },
      });
    }
    if (limitHits) {
      new Counter({
        name: "callbridge_limit_hits_total",
        help: "Calls, messages or requests refused by a limit.",
        labelNames: ["limit"],
        registers,
        collect() {
          // The map is the count; the counter mirrors it at each scrape.
          this.reset();
          for (const [limit, n] of limitHits) {
            this.inc({ limit: limit.replace(/[^a-z0-9_]/g, "_") }, n);
          }
        },
      });
    }
    if (options.instance) {
      // `instance` is the label Prometheus gives each target itself: this one is `instance_id`.
      const info = new Gauge({
        name: "callbridge_instance_info",
        help: "1, labelled with this instance's id and version (several may share one KV).",
        labelNames: ["instance_id", "version"],
        registers,
      });
      info.set({ instance_id: options.instance.id, version: options.instance.version }, 1);
    }
    if (draining) {
      new Gauge({
        name: "callbridge_draining",
        help: "1 while this instance drains (takes no new calls).",
        registers,
        collect() {
          this.set(draining() ? 1 : 0);
        },
      });
    }
  }

  opened(record: Readonly<CallRecord>): void {
    this.#inc(this.#started, { mode: record.mode, agent: this.#agent(record.agent) });
  }

  event(record: Readonly<CallRecord>, type: CallEventRecord["type"]): void {
    const mode = record.mode;
    if (type === "interrupt" || type === "barge_in") this.#inc(this.#interrupts, { mode });
    else if (type === "error") this.#inc(this.#errors, { mode });
    else if (type === "tool") this.#inc(this.#tools, { mode });
  }

  latency(record: Readonly<CallRecord>, turn: TurnLatency): void {
    this.#inc(this.#turns, { mode: record.mode, outcome: word(turn.outcome) });
    if (turn.latencyMs !== null) {
      this.#latency.observe({ mode: record.mode }, turn.latencyMs / 1000);
    }
  }

  frames(_record: Readonly<CallRecord>, framesIn: number, framesOut: number): void {
    this.#inc(this.#frames, { direction: "in" }, framesIn);
    this.#inc(this.#frames, { direction: "out" }, framesOut);
  }

  ended(record: Readonly<CallRecord>): void {
    this.#inc(this.#ended, {
      mode: record.mode,
      agent: this.#agent(record.agent),
      outcome: word(record.outcome),
    });
  }

  /** A call for a disabled agent heard the apology instead of the agent. */
  disabledAgentCall(agent: string): void {
    this.#inc(this.#disabled, { agent: this.#agent(agent) });
  }

  /** A call's analysis was stored: counted by its outcome label. */
  analysed(record: Readonly<CallRecord>): void {
    const analysis = record.analysis;
    const result = analysis?.status === "done" ? analysis.outcome ?? "none" : "failed";
    this.#inc(this.#results, { agent: this.#agent(record.agent), result: word(result) });
  }

  /** An end-of-call webhook attempt ended. */
  delivery(result: "delivered" | "failed" | "refused"): void {
    this.#inc(this.#deliveries, { result });
  }

  /** Counts on `counter`, folding a label set past the {@link MAX_SERIES}th into `other`. */
  #inc<L extends string>(counter: Counter<L>, labels: Record<L, string>, by = 1): void {
    let seen = this.#series.get(counter);
    if (!seen) this.#series.set(counter, seen = new Set());
    const key = Object.values(labels).join("\u0000");
    if (seen.has(key) || seen.size < MAX_SERIES) seen.add(key);
    else for (const name in labels) labels[name] = "other";
    counter.inc(labels, by);
  }

  #agent(name: string): string {
    return this.#agents.has(name) ? name : "other";
  }
}

/** A short lower-case word as is; anything else (free text, numbers, ids) becomes `other`. */
function word(value: string): string {
  return WORD.test(value) ? value : "other";
}
