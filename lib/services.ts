/**
 * The composition root: every process-wide part is built here once, at start-up, and handed to
 * what uses it — routes get the {@link Services}, and each call session only the dependencies it
 * uses (`relayDeps`, `realtimeDeps`). Nothing in lib/ imports this module.
 *
 * @module
 */

import { ProfileError } from "./agents/agent_profile.ts";
import { type ProfileFolder, readProfileFolders } from "./agents/profile_folders.ts";
import OpenAI from "openai";
import { textModelOf, voiceEngineOf } from "./agents/model_settings.ts";
import { AfterCall } from "./records/after_call.ts";
import { deadLetters } from "./records/call_webhook.ts";
import { AgentToolSets } from "./agents/agent_tools.ts";
import { CallRecords } from "./records/call_recorder.ts";
import { CallRegistry } from "./calls/call_registry.ts";
import { CallStore } from "./records/call_store.ts";
import { type Clock, systemClock } from "./platform/clock.ts";
import { type Config, ConfigError } from "./platform/config.ts";
import { Lifecycle } from "./platform/lifecycle.ts";
import { openKv } from "./platform/kv_open.ts";
import { LiveFeed } from "./records/live_feed.ts";
import { type LiveCallView, Presence } from "./records/presence.ts";
import { RejectedRequests } from "./admin/rejected_requests.ts";
import { ToolFeed } from "./records/tool_feed.ts";
import { createLlm, type Llm } from "./relay/llm.ts";
import { Logger, type LogSink } from "./platform/log.ts";
import { Metrics } from "./records/metrics.ts";
import { ProfileStore } from "./agents/profile_store.ts";
import { CallTokens } from "./calls/call_token.ts";
import { StreamEndings } from "./calls/stream_ending.ts";
import { createTwilioApi, type TwilioApi } from "./platform/twilio_api.ts";
import { limitHit } from "./calls/admission.ts";
import type { CallDeps } from "./calls/call_deps.ts";
import { resolveCallContext } from "./calls/call_context.ts";
import type { RealtimeDeps } from "./realtime/realtime_deps.ts";
import type { RelayDeps } from "./relay/relay_session.ts";
import { SipWebhook } from "./sip/sip_webhook.ts";
import { SipCall } from "./sip/sip_call.ts";
import { startInboundRecording } from "./calls/inbound_recording.ts";

/** Configuration plus shared clients; sessions get this, never module globals. */
export interface Services {
  config: Config;
  log: Logger;
  llm: Llm | null;
  registry: CallRegistry;
  profiles: ProfileStore;
  /** Each profile version's tools, shared by its calls. */
  toolSets: AgentToolSets;
  kv: Deno.Kv;
  /** null without Twilio credentials. */
  twilio: TwilioApi | null;
  clock: Clock;
  /** Call records: each call writes its own as it goes. */
  records: CallRecords;
  lifecycle: Lifecycle;
  /** Limit hits by limit name, for logs and metrics. */
  limitHits: Map<string, number>;
  /**
   * Counters fed by the call records, plus live calls, limit hits and the drain state read at
   * scrape time: `/metrics`, from a prom-client registry of this instance's own.
   */
  metrics: Metrics;
  /** Every instance's live calls (this one's from memory), as an event feed for the dashboard. */
  liveFeed: LiveFeed;
  /** This instance's live calls and itself in KV, renewed while they live; every instance's. */
  presence: Presence;
  /** Each live call's tool calls as they finish, for the simulator. */
  toolFeed: ToolFeed;
  /** How each Media Stream ended, for the `<Connect action>` that follows it. */
  streamEndings: StreamEndings;
  /** Per-call tokens in the TwiML, checked on the call's socket. */
  callTokens: CallTokens;
  /** The last few `/twilio/*` requests this instance refused, for `/config`. */
  rejections: RejectedRequests;
  /** Each ended call's analysis and end-of-call webhook, through the KV queue. */
  afterCall: AfterCall;
  /** `POST /openai/webhook`: SIP calls straight to OpenAI, accepted or rejected. */
  sipWebhook: SipWebhook;
  /** GPT-Live sessions of SIP calls (their recordings); null without `OPENAI_API_KEY`. */
  liveSessions: OpenAI["live"]["sessions"] | null;
  /** What each relay call gets (and nothing more). */
  relayDeps: RelayDeps;
  /** What each realtime call gets (and nothing more). */
  realtimeDeps: RealtimeDeps;
}

/** Options of {@link createServices}. */
export interface ServiceOptions {
  sink?: LogSink;
  clock?: Clock;
}

/** Builds the services for `config`: loads the agent profiles and opens Deno KV. */
export async function createServices(
  config: Config,
  options: ServiceOptions = {},
): Promise<Services> {
  // Read at start-up: a restart (and `deno task dev`'s reload) reads the files again.
  let folders: Map<string, ProfileFolder>;
  try {
    folders = await readProfileFolders(config.agentsDir);
  } catch (err) {
    if (err instanceof ProfileError) throw new ConfigError(err.problems);
    throw err;
  }
  const log = new Logger(config.logLevel, {}, options.sink);
  const kv = await openKv(config.kvPath);
  const clock = options.clock ?? systemClock;
  // A bad profile disables its agent only; the others keep answering.
  for (const [name, folder] of folders) {
    if (folder.problems.length) {
      log.error("profile.disabled", { agent: name, problems: folder.problems });
    }
  }
  // A version saved from the admin pages replaces the files until the agent follows them again.
  const profiles = new ProfileStore(folders, { kv, dir: config.agentsDir, log });
  await profiles.refresh();
  const registry = new CallRegistry();
  const records = new CallRecords(new CallStore(kv, config.recordsRetentionDays), {
    clock,
    log,
    prices: config.openai.prices,
  });
  const lifecycle = new Lifecycle();
  const limitHits = new Map<string, number>();
  const metrics = new Metrics({
    agents: profiles, // its has(): the shipped agents and those created since
    liveCalls: () => registry.countByMode(),
    limitHits,
    draining: () => lifecycle.draining,
    undeliveredWebhooks: async () => (await deadLetters(kv)).length,
    instance: { id: config.instance.id, version: config.instance.version },
  });
  const { instance } = config;
  // The presence reads the feed's local calls only once started, below.
  const presence: Presence = new Presence(kv, (): LiveCallView[] => liveFeed.snapshot(), {
    instance: instance.id,
    version: instance.version,
    ttlMs: instance.presenceTtlMs,
    log,
  });
  const liveFeed: LiveFeed = new LiveFeed(registry, records, {
    instance: instance.id,
    presence,
    kv,
    updates: instance.liveUpdates,
    pollMs: Math.min(1000, Math.floor(instance.presenceTtlMs / 3)),
  });
  records.observe(metrics);
  records.observe(liveFeed);
  records.observe(presence);
  presence.start();
  const toolFeed = new ToolFeed();
  records.observe(toolFeed);
  const afterCall = createAfterCall({ config, profiles, records, log, metrics });
  records.observe(afterCall);
  afterCall.listen().catch((err) => log.error("after_call.listen_failed", { error: String(err) }));
  const toolSets = new AgentToolSets({
    signingSecret: config.tools.signingSecret,
    timeoutMs: config.tools.timeoutMs,
    baseUrl: ownBaseUrl(config),
  });
  const twilio = createTwilioApi(config);
  const llm = createLlm(config.openai);
  const callTokens = new CallTokens(kv);
  const streamEndings = new StreamEndings(kv);
  const calls: CallDeps = {
    log,
    clock,
    registry,
    records,
    callTokens,
    resolveContext: async (start) => {
      const context = await resolveCallContext({ kv, log, profiles, toolSets, config }, start);
      if (context.tags?.length) records.tag(start.callSid, context.tags);
      // A GPT-Live SIP call is recorded by OpenAI (`store`; see sip_call.ts), not by Twilio.
      const liveSip = start.mode === "sip" &&
        voiceEngineOf(context.profile, config.openai) === "live";
      if (!liveSip) {
        startInboundRecording({ kv, log, twilio, publicUrl: config.publicUrl }, context);
      }
      return context;
    },
    limitHit: (limit, fields) => limitHit({ limitHits, log }, limit, fields),
    sendSms: twilio?.sendSms ?? null,
    authenticate: config.twilio.validateSignature,
    limits: config.limits,
    handoffNumber: config.handoffNumber,
    dtmfDebounceMs: config.relay.dtmfDebounceMs,
  };
  const sipClient = config.openai.apiKey
    ? new OpenAI({
      apiKey: config.openai.apiKey,
      baseURL: config.openai.baseUrl,
      webhookSecret: config.openai.webhookSecret,
      maxRetries: 1,
      timeout: config.openai.timeoutMs,
    })
    : null;
  const sipWebhook = new SipWebhook({
    client: sipClient,
    accepted: (surface, id, context) =>
      new SipCall(
        {
          client: sipClient!,
          openai: { baseUrl: config.openai.baseUrl, apiKey: config.openai.apiKey ?? "" },
          clock,
          log,
          registry,
          records,
          handoffNumber: config.handoffNumber,
          realtimeGreeting: config.realtimeGreeting,
          dtmfDebounceMs: config.relay.dtmfDebounceMs,
        },
        surface,
        id,
        context,
      ),
    openai: config.openai,
    kv,
    log,
    admission: { lifecycle, registry, config },
    limitHits,
    callTokens,
    profiles,
    resolveContext: (start) => calls.resolveContext(start),
  });
  return {
    config,
    log,
    llm,
    registry,
    sipWebhook,
    liveSessions: sipClient?.live.sessions ?? null,
    profiles,
    toolSets,
    kv,
    twilio,
    clock,
    records,
    lifecycle,
    limitHits,
    metrics,
    liveFeed,
    presence,
    toolFeed,
    streamEndings,
    callTokens,
    rejections: new RejectedRequests(),
    afterCall,
    relayDeps: {
      ...calls,
      llm,
      maxFailures: config.openai.maxFailures,
      toolFillerMs: config.tools.fillerAfterMs,
      historyMaxTokens: config.relay.historyMaxTokens,
    },
    realtimeDeps: {
      ...calls,
      openai: config.openai,
      realtimeGreeting: config.realtimeGreeting,
      realtimeFallback: config.realtimeFallback,
      redirect: twilio ? (sid, twiml) => twilio.updateCall(sid, twiml) : null,
      streamEndings,
    },
  };
}

/**
 * Closes what the services hold open once their calls have ended, in the order that loses
 * nothing: the event streams (open ones would hold `server`'s shutdown), then `server` (its
 * requests in flight finish), the records, after-call work in flight (a webhook attempt writes
 * its state first), the presence (its last write lands), and KV. `main.ts` drains the same way,
 * with its own time limits.
 */
export async function closeServices(
  services: Services,
  server: { shutdown(): Promise<void> },
): Promise<void> {
  services.liveFeed.close();
  services.toolFeed.close();
  await server.shutdown();
  await services.records.close();
  await services.afterCall.idle();
  await services.presence.close();
  services.kv.close();
}

/** Where this service reaches itself: `PUBLIC_URL`, else the address it listens on. */
export function ownBaseUrl(config: Pick<Config, "publicUrl" | "hostname" | "port">): string {
  if (config.publicUrl) return config.publicUrl;
  const host = config.hostname.includes(":") && !config.hostname.startsWith("[")
    ? `[${config.hostname}]`
    : config.hostname;
  return `http://${host}:${config.port}`;
}

/** The after-call work: each agent's analysis and webhook URL, the analysis model, metrics. */
function createAfterCall(
  parts: {
    config: Config;
    profiles: ProfileStore;
    records: CallRecords;
    log: Logger;
    metrics: Metrics;
  },
): AfterCall {
  const { config, profiles, records, log, metrics } = parts;
  const { openai, callWebhook } = config;
  const client = openai.apiKey
    ? new OpenAI({
      apiKey: openai.apiKey,
      baseURL: openai.baseUrl,
      maxRetries: 1,
      timeout: Math.max(30_000, openai.timeoutMs),
    })
    : null;
  return new AfterCall({
    store: records.store,
    log,
    settingsFor: async (agent) => {
      const profile = await profiles.knows(agent) ? await profiles.load(agent) : null;
      // The analysis runs on the agent's own text model and API, as its calls do.
      const text = profile ? textModelOf(profile, openai) : null;
      return {
        analysis: profile?.analysis ?? null,
        webhookUrl: profile?.webhookUrl ?? callWebhook.url,
        ...(text ? { model: { model: text.model, api: text.api } } : {}),
      };
    },
    llm: { client, model: openai.model, api: openai.api },
    webhook: { ...callWebhook, production: config.production, publicUrl: config.publicUrl },
    observer: metrics,
  });
}

/** Start-up warnings about a configuration that works but is not production-ready. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (!config.twilio.validateSignature) {
    warnings.push(
      "TWILIO_VALIDATE_SIGNATURE=false: Twilio signatures are NOT checked; anyone can reach /twilio/*",
    );
  } else if (!config.twilio.authToken) {
    warnings.push(
      "TWILIO_AUTH_TOKEN is not set: every /twilio/* request is refused (403) until it is",
    );
  }
  if (!config.openai.apiKey) {
    warnings.push("OPENAI_API_KEY is not set: callers hear a short apology instead of the agent");
  }
  if (!config.publicUrl) {
    warnings.push("PUBLIC_URL is not set: URLs are derived from each request's Host header");
  }
  if (!config.adminPassword) {
    warnings.push(
      config.production
        ? "ADMIN_PASSWORD is not set: the admin pages, /metrics and the simulator are off in production"
        : "ADMIN_PASSWORD is not set: the admin pages answer only to a browser on this machine",
    );
  }
  if (config.demoBooking && (config.adminPassword || config.production)) {
    if (!config.tools.signingSecret) {
      warnings.push(
        "DEMO_BOOKING is on with ADMIN_PASSWORD or in production but TOOLS_SIGNING_SECRET is not set: " +
          "the example's tools cannot reach /demo/booking/* (401)",
      );
    }
  }
  return warnings;
}
