/**
 * Typed configuration, read once from the environment at start-up.
 *
 * Every variable has a default so the service starts with no keys at all; a value that is present
 * but wrong fails fast with an error naming the variable and the problem.
 *
 * @module
 */

import { type InstanceConfig, readInstanceConfig, readKvLocation } from "./instance_config.ts";
import { EnvReader } from "./env_reader.ts";
import { loadPriceTable, type PriceTable } from "./model_prices.ts";

/** Which OpenAI text API the ConversationRelay path streams from. */
export type OpenAiApi = "chat" | "responses";

/** Who may interrupt the agent (ConversationRelay `interruptible`). */
export type Interruptible = "none" | "dtmf" | "speech" | "any";

/** Default call path for `POST /twilio/voice`. */
export type VoiceMode = "relay" | "realtime" | "sip";

/** Which OpenAI voice API the Media Streams path talks to: Realtime or GPT-Live. */
export type VoiceEngine = "realtime" | "live";

/** Turn detection for the Realtime path. */
export type TurnDetection =
  | { type: "server_vad"; threshold: number; prefixPaddingMs: number; silenceDurationMs: number }
  | { type: "semantic_vad"; eagerness: "low" | "medium" | "high" | "auto" };

/** Log verbosity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** The whole effective configuration of one process. */
export interface Config {
  port: number;
  hostname: string;
  /**
   * Deployed rather than on a developer's machine: on Deno Deploy (`DENO_DEPLOYMENT_ID`), or
   * listening beyond loopback (Docker's `HOSTNAME=0.0.0.0`). Then `PUBLIC_URL` is required and
   * the admin pages need `ADMIN_PASSWORD`.
   */
  production: boolean;
  /** Base URL Twilio reaches (no trailing slash), or null to derive it from each request. */
  publicUrl: string | null;
  logLevel: LogLevel;
  openai: {
    apiKey: string | null;
    baseUrl: string;
    model: string;
    api: OpenAiApi;
    /** Longest wait for the first token, and between two tokens, before a turn is failed. */
    timeoutMs: number;
    /** Consecutive failed turns after which the call is ended. */
    maxFailures: number;
    realtimeModel: string;
    /** The realtime path's voice API when the agent names none (`OPENAI_VOICE_ENGINE`). */
    voiceEngine: VoiceEngine;
    /** The GPT-Live model (`OPENAI_LIVE_MODEL`). */
    liveModel: string;
    /** The OpenAI project SIP calls are dialled to (`OPENAI_PROJECT_ID`, `proj_…`). */
    projectId: string | null;
    /** Verifies `POST /openai/webhook` (`OPENAI_WEBHOOK_SECRET`, `whsec_…`). */
    webhookSecret: string | null;
    /**
     * SIP calls from an Elastic SIP Trunk carry no `X-Callbridge-*` headers: the agent that
     * answers each dialled number (E.164 → agent name; others get `default`).
     */
    sipTrunkAgents: ReadonlyMap<string, string>;
    voice: string;
    turnDetection: TurnDetection;
    transcriptionModel: string;
    /** How long a Realtime session may last (the API's limit: 60 minutes). */
    realtimeSessionSeconds: number;
    /** A session is renewed at a quiet moment once this close to its limit. */
    realtimeRenewSeconds: number;
    /** USD per 1M tokens by model (`MODEL_PRICES` / `MODEL_PRICES_FILE` over the built-in). */
    prices: PriceTable;
  };
  twilio: {
    accountSid: string | null;
    authToken: string | null;
    validateSignature: boolean;
    /** REST API base URL (only tests point it elsewhere). */
    apiBaseUrl: string;
  };
  relay: {
    welcomeGreeting: string;
    welcomeGreetingInterruptible: Interruptible;
    language: string;
    ttsProvider: string | null;
    voice: string | null;
    transcriptionProvider: string | null;
    speechModel: string | null;
    interruptible: Interruptible;
    interruptSensitivity: "low" | "medium" | "high" | null;
    dtmfDetection: boolean;
    hints: string | null;
    /** Key presses closer together than this are given to the model as one turn. */
    dtmfDebounceMs: number;
    /** The conversation history's token budget (estimated): older turns make room. */
    historyMaxTokens: number;
  };
  voiceMode: VoiceMode;
  /** Realtime path: what the model says first ("" = caller speaks first). */
  realtimeGreeting: string;
  /** Realtime path: `<Say>` before the stream starts ("" = none). */
  realtimeIntro: string;
  /** Realtime path: `<Say>` played when the stream ends abnormally. */
  realtimeFallback: string;
  handoffNumber: string | null;
  /** Folder of the shipped agent profiles. */
  agentsDir: string;
  /** Deno KV location: a file path, `:memory:`, a KV Connect URL, or "" for the platform's. */
  kvPath: string;
  /** Who this instance is among those sharing the KV. */
  instance: InstanceConfig;
  /** Caller ID for outbound calls and texts. */
  twilioPhoneNumber: string | null;
  /** Call records older than this expire. */
  recordsRetentionDays: number;
  limits: {
    /** Live calls this process takes at once; more hear "all lines are busy". */
    maxConcurrentCalls: number;
    /** Larger WebSocket messages from Twilio are dropped. */
    maxMessageBytes: number;
    /** A call is ended (politely) after this long. */
    maxCallSeconds: number;
    /** A Media Stream that sends nothing for this long is closed (Twilio sends audio even in silence). */
    idleTimeoutSeconds: number;
    /** A Twilio socket whose first message is not a valid `setup`/`start` by then is closed. */
    setupTimeoutSeconds: number;
    /** Longest wait for the Realtime socket to open and be configured. */
    openaiConnectTimeoutMs: number;
    /** Largest HTTP request body. */
    maxBodyBytes: number;
  };
  /** On SIGTERM/SIGINT, live calls get this long to finish. */
  drainSeconds: number;
  /** Bearer token of `/api/*`; null = the API is off. */
  apiToken: string | null;
  outbound: {
    /** Calls `POST /api/calls` may place per minute (per instance). */
    callsPerMinute: number;
    /** E.164 prefixes a call may go to; empty = any not denied. */
    allowedPrefixes: string[];
    /** E.164 prefixes a call may never go to (premium rate and satellite by default). */
    deniedPrefixes: string[];
  };
  /** Basic-auth password of the admin pages and `/metrics`; null = loopback clients only. */
  adminPassword: string | null;
  /**
   * Serve the demo booking service (`/demo/booking/*`, for the `appointments` example):
   * `DEMO_BOOKING`, on by default except in production; always behind the admin guard.
   */
  demoBooking: boolean;
  tools: {
    /** HMAC secret HTTP tools sign their requests with. */
    signingSecret: string | null;
    timeoutMs: number;
    /** A slow tool makes the caller hear a filler after this long. */
    fillerAfterMs: number;
  };
  /** The end-of-call webhook (a profile's `webhookUrl` overrides the URL). */
  callWebhook: {
    /** `CALL_WEBHOOK_URL`; null = none unless a profile sets one. */
    url: string | null;
    /** HMAC secret: `WEBHOOK_SIGNING_SECRET`, else `TOOLS_SIGNING_SECRET`; null = unsigned. */
    signingSecret: string | null;
    /** One delivery attempt's longest wait for an answer. */
    timeoutMs: number;
    /** Waits before each retry (Deno KV queue `backoffSchedule`, at most 5). */
    retryScheduleMs: number[];
  };
}

/** A configuration problem: lists every variable that is wrong and why. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const INTERRUPTIBLE = ["none", "dtmf", "speech", "any"] as const;

/**
 * Destinations refused unless `OUTBOUND_DENIED_PREFIXES` says otherwise: premium-rate and
 * shared-revenue ranges that toll fraud targets (NANP 900 and 976, UK 09 and 087, Germany and
 * Austria 900, France 089, the international premium service +979, satellite and global
 * networks +881/+882/+883).
 */
export const DENIED_PREFIXES = [
  "+1900",
  "+1976",
  "+449",
  "+4487",
  "+49900",
  "+43900",
  "+3389",
  "+979",
  "+881",
  "+882",
  "+883",
];
/** The Realtime API's voices. */
export const REALTIME_VOICES = [
  "alloy",
  "ash",
  "ballad",
  "coral",
  "echo",
  "sage",
  "shimmer",
  "verse",
  "marin",
  "cedar",
] as const;

/** Reads and validates the configuration from `env` (defaults to the process environment). */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
  const r = new EnvReader(env);
  const kv = readKvLocation(env, r);
  const turnType = r.oneOf("OPENAI_TURN_DETECTION", ["server_vad", "semantic_vad"], "server_vad");
  const turnDetection: TurnDetection = turnType === "semantic_vad"
    ? {
      type: "semantic_vad",
      eagerness: r.oneOf("OPENAI_VAD_EAGERNESS", ["low", "medium", "high", "auto"], "auto"),
    }
    : {
      type: "server_vad",
      threshold: r.number("OPENAI_VAD_THRESHOLD", 0.5, { min: 0, max: 1 }),
      prefixPaddingMs: r.int("OPENAI_VAD_PREFIX_PADDING_MS", 300, { min: 0, max: 5000 }),
      silenceDurationMs: r.int("OPENAI_VAD_SILENCE_MS", 500, { min: 0, max: 10000 }),
    };
  const config: Config = {
    port: r.int("PORT", 8000, { min: 0, max: 65535 }),
    hostname: env.DENO_DEPLOYMENT_ID
      ? r.string("HOSTNAME", "127.0.0.1") // Deno Deploy chooses the address itself
      : r.listenAddress("HOSTNAME", "127.0.0.1"),
    production: false,
    publicUrl: r.publicUrl("PUBLIC_URL"),
    logLevel: r.oneOf("LOG_LEVEL", ["debug", "info", "warn", "error"], "info"),
    openai: {
      apiKey: r.optional("OPENAI_API_KEY"),
      baseUrl: r.url("OPENAI_BASE_URL", "https://api.openai.com/v1", ["http:", "https:"]),
      model: r.string("OPENAI_MODEL", "gpt-4.1-mini"),
      api: r.oneOf("OPENAI_API", ["chat", "responses"], "chat"),
      timeoutMs: r.int("OPENAI_TIMEOUT_MS", 10000, { min: 100, max: 120000 }),
      maxFailures: r.int("LLM_MAX_FAILURES", 3, { min: 1, max: 100 }),
      realtimeModel: r.string("OPENAI_REALTIME_MODEL", "gpt-realtime"),
      voiceEngine: r.oneOf("OPENAI_VOICE_ENGINE", ["realtime", "live"], "realtime"),
      liveModel: r.string("OPENAI_LIVE_MODEL", "gpt-live-1"),
      projectId: r.optional("OPENAI_PROJECT_ID", /^proj_[A-Za-z0-9]+$/, "proj_ and letters/digits"),
      webhookSecret: r.optional(
        "OPENAI_WEBHOOK_SECRET",
        /^whsec_[A-Za-z0-9+/=]+$/,
        "whsec_ and base64",
      ),
      sipTrunkAgents: sipTrunkAgents(r.optional("SIP_TRUNK_AGENTS"), r.problems),
      voice: r.oneOf("OPENAI_VOICE", REALTIME_VOICES, "marin"),
      turnDetection,
      transcriptionModel: r.string("OPENAI_TRANSCRIPTION_MODEL", "gpt-4o-mini-transcribe"),
      realtimeSessionSeconds: r.int("OPENAI_REALTIME_SESSION_SECONDS", 3600, {
        min: 10,
        max: 3600,
      }),
      realtimeRenewSeconds: r.int("OPENAI_REALTIME_RENEW_SECONDS", 300, { min: 0, max: 3600 }),
      prices: loadPriceTable(env, r.problems),
    },
    twilio: {
      accountSid: r.optional("TWILIO_ACCOUNT_SID", /^AC[0-9a-fA-F]{32}$/, "AC followed by 32 hex"),
      authToken: r.optional("TWILIO_AUTH_TOKEN"),
      validateSignature: r.bool("TWILIO_VALIDATE_SIGNATURE", true),
      apiBaseUrl: r.url("TWILIO_API_BASE_URL", "https://api.twilio.com", ["http:", "https:"]),
    },
    relay: {
      welcomeGreeting: r.string(
        "WELCOME_GREETING",
        "Hi! You're talking with an AI assistant. How can I help you today?",
        { allowEmpty: true },
      ),
      welcomeGreetingInterruptible: r.oneOf("WELCOME_GREETING_INTERRUPTIBLE", INTERRUPTIBLE, "any"),
      language: r.string("LANGUAGE", "en-US"),
      ttsProvider: r.optional("TTS_PROVIDER"),
      voice: r.optional("TTS_VOICE"),
      transcriptionProvider: r.optional("TRANSCRIPTION_PROVIDER"),
      speechModel: r.optional("SPEECH_MODEL"),
      interruptible: r.oneOf("INTERRUPTIBLE", INTERRUPTIBLE, "any"),
      interruptSensitivity: r.optionalOneOf("INTERRUPT_SENSITIVITY", ["low", "medium", "high"]),
      dtmfDetection: r.bool("DTMF_DETECTION", true),
      hints: r.optional("STT_HINTS"),
      dtmfDebounceMs: r.int("DTMF_DEBOUNCE_MS", 1200, { min: 0, max: 10000 }),
      historyMaxTokens: r.int("HISTORY_MAX_TOKENS", 8000, { min: 500, max: 1_000_000 }),
    },
    voiceMode: r.oneOf("VOICE_MODE", ["relay", "realtime", "sip"], "relay"),
    realtimeGreeting: r.string(
      "REALTIME_GREETING",
      "Greet the caller briefly and ask how you can help.",
      { allowEmpty: true },
    ),
    realtimeIntro: r.string("REALTIME_INTRO", "", { allowEmpty: true }),
    realtimeFallback: r.string(
      "REALTIME_FALLBACK",
      "Sorry, something went wrong on our side. Please call back later. Goodbye.",
    ),
    handoffNumber: r.optional(
      "HANDOFF_NUMBER",
      /^\+[1-9]\d{6,14}$/,
      "an E.164 number like +15550100",
    ),
    agentsDir: r.string("AGENTS_DIR", "assets/agents"),
    kvPath: kv.path,
    instance: readInstanceConfig(env, r, kv.location),
    twilioPhoneNumber: r.optional(
      "TWILIO_PHONE_NUMBER",
      /^\+[1-9]\d{6,14}$/,
      "an E.164 number like +15550100",
    ),
    apiToken: r.optional("API_TOKEN"),
    outbound: {
      callsPerMinute: r.int("API_CALLS_PER_MINUTE", 10, { min: 1, max: 10000 }),
      allowedPrefixes: r.prefixes("OUTBOUND_ALLOWED_PREFIXES", []),
      deniedPrefixes: r.prefixes("OUTBOUND_DENIED_PREFIXES", DENIED_PREFIXES),
    },
    adminPassword: r.optional("ADMIN_PASSWORD"),
    demoBooking: false,
    recordsRetentionDays: r.int("RECORDS_RETENTION_DAYS", 30, { min: 1, max: 3650 }),
    limits: {
      maxConcurrentCalls: r.int("MAX_CONCURRENT_CALLS", 200, { min: 1, max: 100000 }),
      maxMessageBytes: r.int("MAX_WS_MESSAGE_BYTES", 65536, { min: 1024, max: 16777216 }),
      maxCallSeconds: r.int("MAX_CALL_SECONDS", 7200, { min: 10, max: 86400 }),
      idleTimeoutSeconds: r.int("TWILIO_IDLE_TIMEOUT_SECONDS", 30, { min: 1, max: 3600 }),
      setupTimeoutSeconds: r.int("TWILIO_SETUP_TIMEOUT_SECONDS", 5, { min: 1, max: 60 }),
      openaiConnectTimeoutMs: r.int("OPENAI_CONNECT_TIMEOUT_MS", 5000, { min: 100, max: 60000 }),
      maxBodyBytes: r.int("MAX_BODY_BYTES", 65536, { min: 1024, max: 16777216 }),
    },
    drainSeconds: r.int("DRAIN_SECONDS", 30, { min: 0, max: 3600 }),
    tools: {
      signingSecret: r.optional("TOOLS_SIGNING_SECRET"),
      timeoutMs: r.int("TOOL_TIMEOUT_MS", 8000, { min: 100, max: 120000 }),
      fillerAfterMs: r.int("TOOL_FILLER_MS", 1000, { min: 0, max: 60000 }),
    },
    callWebhook: { url: null, signingSecret: null, timeoutMs: 10000, retryScheduleMs: [] },
  };
  config.production = Boolean(env.DENO_DEPLOYMENT_ID) || !isLoopbackHost(config.hostname);
  config.demoBooking = r.bool("DEMO_BOOKING", !config.production);
  config.callWebhook = callWebhookConfig(env, r, config);
  if (
    config.production && !config.publicUrl && !r.problems.some((p) => p.startsWith("PUBLIC_URL"))
  ) {
    r.problems.push(
      `PUBLIC_URL must be set in production (${
        env.DENO_DEPLOYMENT_ID ? "on Deno Deploy" : `HOSTNAME=${config.hostname}`
      }): without it the TwiML's socket URLs would be built from request headers`,
    );
  }
  const { realtimeSessionSeconds, realtimeRenewSeconds } = config.openai;
  if (realtimeRenewSeconds >= realtimeSessionSeconds) {
    r.problems.push(
      `OPENAI_REALTIME_RENEW_SECONDS must be less than OPENAI_REALTIME_SESSION_SECONDS (${realtimeSessionSeconds})`,
    );
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

/** `SIP_TRUNK_AGENTS`: `+15550100999=appointments,+15550100998=default`. */
function sipTrunkAgents(raw: string | null, problems: string[]): ReadonlyMap<string, string> {
  const agents = new Map<string, string>();
  for (const pair of raw?.split(",") ?? []) {
    const [number, agent, ...rest] = pair.split("=").map((part) => part.trim());
    if (
      !/^\+[1-9]\d{6,14}$/.test(number) || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(agent ?? "") ||
      rest.length
    ) {
      problems.push(
        `SIP_TRUNK_AGENTS must be comma-separated number=agent pairs, each number E.164 and ` +
          `each agent a profile name, like +15550100999=appointments (got "${pair.trim()}")`,
      );
    } else if (agents.has(number)) {
      problems.push(`SIP_TRUNK_AGENTS names ${number} twice`);
    } else agents.set(number, agent);
  }
  return agents;
}

/** Retries of a webhook delivery by default: 5 s, 30 s, 2 min, 10 min, 1 h. */
export const WEBHOOK_RETRY_SCHEDULE_MS = [5000, 30000, 120000, 600000, 3600000];

/** The end-of-call webhook's settings; in production its URL must be https. */
function callWebhookConfig(
  env: Record<string, string | undefined>,
  r: EnvReader,
  config: Config,
): Config["callWebhook"] {
  const raw = r.optional("CALL_WEBHOOK_URL");
  let url: string | null = null;
  if (raw !== null) {
    const parsed = URL.parse(raw);
    if (!parsed || !["http:", "https:"].includes(parsed.protocol)) {
      r.problems.push(`CALL_WEBHOOK_URL must be an https:// URL (got "${raw}")`);
    } else if (config.production && parsed.protocol !== "https:") {
      r.problems.push(`CALL_WEBHOOK_URL must be an https:// URL in production (got "${raw}")`);
    } else url = parsed.href;
  }
  const scheduleText = env.WEBHOOK_RETRY_SCHEDULE_MS?.trim();
  let retryScheduleMs = WEBHOOK_RETRY_SCHEDULE_MS;
  if (scheduleText !== undefined && scheduleText !== "") {
    const list = scheduleText.split(",").map((v) => Number(v.trim()));
    if (
      list.length > 5 || list.some((n) => !Number.isInteger(n) || n < 0 || n > 3_600_000)
    ) {
      r.problems.push(
        `WEBHOOK_RETRY_SCHEDULE_MS must be at most 5 comma-separated waits in ms, each 0 to ` +
          `3600000 (got "${scheduleText}")`,
      );
    } else retryScheduleMs = list;
  }
  return {
    url,
    signingSecret: r.optional("WEBHOOK_SIGNING_SECRET") ?? config.tools.signingSecret,
    timeoutMs: r.int("WEBHOOK_TIMEOUT_MS", 10000, { min: 100, max: 120000 }),
    retryScheduleMs,
  };
}

/** Whether `hostname` names this machine's loopback interface only. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
