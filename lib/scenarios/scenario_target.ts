/**
 * Where a scenario's call goes: the service in this process ({@link localTarget}: the runner's
 * own in-process service, or the scenarios page) or a running deployment ({@link remoteTarget}:
 * `deno task scenarios --url`, with the admin password). Either way the call is a real
 * ConversationRelay session on `/twilio/relay`, opened with a simulator token, and its tool
 * calls, transcript, latencies and end are read from the call's feed — what
 * `/simulator/events/:sid` streams to the simulator page — so both targets see the same.
 *
 * The call's params are stored under a reference, tagged `scenario`, as `POST /simulator/token`
 * stores the simulator's (`scenario=1`); a run against an unsaved edit stores the edit's files
 * with them (`draft`), which the call runs instead of the live version.
 *
 * @module
 */

import { type AgentProfile, parseProfile } from "../agents/agent_profile.ts";
import type { ProfileFiles, ProfileStore } from "../agents/profile_store.ts";
import { type SimulatedCall, startSimulatedCall } from "../calls/simulated_call.ts";
import type { SimulatorTokens } from "../admin/simulator_token.ts";
import { SCENARIO_TAG } from "../records/call_store.ts";
import { followCall, type FollowDeps } from "../records/call_follow.ts";
import type { FeedItem } from "../records/tool_feed.ts";
import { toWebSocketUrl } from "../platform/public_url.ts";
import { LineTimeout } from "./relay_line.ts";
import type { CallObservation } from "./scenario_checks.ts";
import { saveLastRun, type ScenarioResult } from "./scenario_runs.ts";

/** How long a deployment may take to answer one request of a run. */
const REMOTE_TIMEOUT_MS = 30_000;

/** A simulated call to start. */
export interface CallRequest {
  agent: string;
  from: string;
  params: Record<string, string | number | boolean>;
  /** Run these files instead of the agent's live version (an unsaved edit). */
  draft?: ProfileFiles | null;
}

/** A call's feed, collected until its end. */
export interface CallWatch {
  /** What the call showed, once its record ended; rejects after `timeoutMs`. */
  ended(timeoutMs: number): Promise<CallObservation & { failedTurns: number }>;
  close(): void;
}

/** Where scenario calls go. */
export interface ScenarioTarget {
  /** `ws(s)://…/twilio/relay` */
  readonly relayUrl: string;
  /** Stores the call's params and gets its socket token. */
  start(request: CallRequest): Promise<SimulatedCall>;
  /** Subscribes to the call's feed; resolves once subscribed. */
  watch(callSid: string): Promise<CallWatch>;
  /** Keeps a finished scenario's result as its last run, shown on the scenarios page. */
  save(result: ScenarioResult): Promise<void>;
}

/** Collects a call's feed items into what the checks read. */
export class FeedCollector {
  readonly #transcript = new Map<number, { role: "caller" | "agent"; text: string }>();
  readonly #tools: CallObservation["tools"] = [];
  readonly #latencies: (number | null)[] = [];
  #failedTurns = 0;
  #outcome: string | null = null;
  #closed = false;
  #wake: (() => void) | null = null;

  /** One item of the feed; null: the feed closed (the service is shutting down). */
  add(item: FeedItem | null): void {
    if (item === null) this.#closed = true;
    else if (item.kind === "tool") this.#tools.push(item.item);
    else if (item.kind === "transcript") {
      const { seq, role, text } = item.item;
      this.#transcript.set(seq, { role, text });
    } else if (item.kind === "latency") {
      this.#latencies.push(item.item.latencyMs);
      if (item.item.outcome === "failed") this.#failedTurns++;
    } else this.#outcome = item.item.outcome;
    this.#wake?.();
  }

  /** Waits for the call's end (or the feed's); see {@link CallWatch.ended}. */
  async ended(timeoutMs: number): Promise<CallObservation & { failedTurns: number }> {
    if (this.#outcome === null && !this.#closed) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#wake = null;
          reject(new LineTimeout("the call's record", timeoutMs));
        }, timeoutMs);
        this.#wake = () => {
          if (this.#outcome === null && !this.#closed) return;
          clearTimeout(timer);
          this.#wake = null;
          resolve();
        };
      });
    }
    if (this.#outcome === null) throw new Error("the service closed the call's feed");
    return {
      transcript: [...this.#transcript].sort(([a], [b]) => a - b).map(([, line]) => line),
      tools: [...this.#tools],
      latencies: [...this.#latencies],
      outcome: this.#outcome,
      failedTurns: this.#failedTurns,
    };
  }
}

/** What {@link localTarget} uses of the service. */
export interface LocalServices {
  kv: Deno.Kv;
  profiles: Pick<ProfileStore, "load" | "has">;
  toolFeed: FollowDeps["toolFeed"];
  records: { store: FollowDeps["store"] };
  clock: FollowDeps["clock"];
  tokens: Pick<SimulatorTokens, "issue">;
  config: { agentsDir: string; relay: { welcomeGreeting: string } };
}

/**
 * Scenario calls through the service of this process, reached at `baseUrl` (`http://host:port`,
 * or the public URL the page was asked on, which may lead to another instance on the same KV).
 */
export function localTarget(services: LocalServices, baseUrl: string): ScenarioTarget {
  return {
    relayUrl: `${toWebSocketUrl(baseUrl)}/twilio/relay`,
    async start(request) {
      const { agent, from, params } = request;
      if (!services.profiles.has(agent)) throw new Error(`there is no agent "${agent}"`);
      const draft = request.draft ?? null;
      const profile: AgentProfile | null = draft
        ? parseProfile({ name: agent, ...draft }, services.config.agentsDir)
        : await services.profiles.load(agent);
      if (!profile) throw new Error(`agent "${agent}" is disabled: its profile has problems`);
      return await startSimulatedCall(
        {
          kv: services.kv,
          tokens: services.tokens,
          welcomeGreeting: services.config.relay.welcomeGreeting,
        },
        {
          profile,
          from,
          params,
          outbound: true,
          prefix: "scn",
          tags: [SCENARIO_TAG],
          ...(draft ? { draft } : {}),
        },
      );
    },
    watch(callSid) {
      const collector = new FeedCollector();
      // The call's socket may land on another instance sharing the KV (see call_follow.ts).
      const stop = followCall(
        { toolFeed: services.toolFeed, store: services.records.store, clock: services.clock },
        callSid,
        (item) => collector.add(item),
      );
      return Promise.resolve({ ended: (timeoutMs) => collector.ended(timeoutMs), close: stop });
    },
    save: (result) => saveLastRun(services.kv, result),
  };
}

/**
 * Scenario calls to a running deployment at `baseUrl`, as the admin (`ADMIN_PASSWORD`); a request
 * it has not answered within `timeoutMs` fails (a hung deployment must not hang the run).
 */
export function remoteTarget(
  baseUrl: string,
  password: string | null,
  options: { timeoutMs?: number } = {},
): ScenarioTarget {
  const base = baseUrl.replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? REMOTE_TIMEOUT_MS;
  const within = (url: string, init: RequestInit = {}) => fetchWithin(url, init, timeoutMs);
  const headers: Record<string, string> = password
    ? { authorization: `Basic ${btoa(`admin:${password}`)}` }
    : {};
  return {
    relayUrl: `${toWebSocketUrl(base)}/twilio/relay`,
    async start(request) {
      if (request.draft) throw new Error("an unsaved edit runs only on the scenarios page");
      const res = await within(`${base}/simulator/token`, {
        method: "POST",
        // A form post from the admin pages' origin, as the CSRF check wants.
        headers: {
          ...headers,
          "content-type": "application/x-www-form-urlencoded",
          origin: new URL(base).origin,
        },
        body: new URLSearchParams({
          agent: request.agent,
          from: request.from,
          params: JSON.stringify(request.params),
          scenario: "1",
        }),
      });
      if (!res.ok) {
        const why = await res.json().then((b) => String(b.error ?? "")).catch(() => "");
        const hint = res.status === 401 ? " (is ADMIN_PASSWORD the deployment's?)" : "";
        throw new Error(
          `${base}/simulator/token answered ${res.status}${hint}${why && `: ${why}`}`,
        );
      }
      return await res.json() as SimulatedCall;
    },
    async watch(callSid) {
      const url = `${base}/simulator/events/${callSid}`;
      const controller = new AbortController();
      // Until the stream says it is subscribed; the call's end has its own limit (`ended`).
      const timer = setTimeout(
        () => controller.abort(new DeploymentTimeout(url, timeoutMs)),
        timeoutMs,
      );
      const res = await fetch(url, { headers, signal: controller.signal }).catch((err) => {
        clearTimeout(timer);
        throw controller.signal.aborted ? controller.signal.reason : err;
      });
      if (!res.ok || !res.body) {
        clearTimeout(timer);
        await res.body?.cancel();
        throw new Error(`${base}/simulator/events answered ${res.status}`);
      }
      const collector = new FeedCollector();
      let subscribed = () => {};
      const ready = new Promise<void>((resolve) => (subscribed = resolve));
      readEvents(res.body, (event, data) => {
        if (event === "ready") return subscribed();
        if (
          event === "tool" || event === "transcript" || event === "latency" || event === "ended"
        ) {
          collector.add({ kind: event, item: JSON.parse(data) } as FeedItem);
        }
      }).catch(() => {}).finally(() => {
        subscribed();
        collector.add(null);
      });
      await ready;
      clearTimeout(timer);
      if (controller.signal.aborted) throw controller.signal.reason;
      return { ended: (timeoutMs) => collector.ended(timeoutMs), close: () => controller.abort() };
    },
    async save(result) {
      const agent = encodeURIComponent(result.agent);
      const res = await within(`${base}/agents/${agent}/scenarios/runs`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json", origin: new URL(base).origin },
        body: JSON.stringify(result),
      });
      const answer = await res.json().catch(() => ({}));
      if (!res.ok) {
        const why = [answer.error, ...(answer.problems ?? [])].filter(Boolean).join("; ");
        throw new Error(`${base}/agents/${agent}/scenarios/runs answered ${res.status}: ${why}`);
      }
    },
  };
}

/** A deployment did not answer in time. */
class DeploymentTimeout extends Error {
  constructor(url: string, ms: number) {
    super(`${url} did not answer within ${ms} ms`);
    this.name = "DeploymentTimeout";
  }
}

/** `fetch`, given up (a {@link DeploymentTimeout}) when the answer has not come within `ms`. */
async function fetchWithin(url: string, init: RequestInit, ms: number): Promise<Response> {
  const signal = AbortSignal.timeout(ms);
  try {
    const res = await fetch(url, { ...init, signal });
    // The body is read within the same limit: buffered here, as each of these answers is small.
    const body = await res.arrayBuffer();
    return new Response(body, { status: res.status, headers: res.headers });
  } catch (err) {
    if (signal.aborted) throw new DeploymentTimeout(url, ms);
    throw err;
  }
}

/** Reads a server-sent event stream, calling `onEvent` with each event's name and data. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: string, data: string) => void,
): Promise<void> {
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true }).replaceAll("\r\n", "\n");
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(event, data.join("\n"));
    }
  }
}
