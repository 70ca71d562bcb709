/**
 * Agent profiles: what an agent says and does, configured without code.
 *
 * A profile is a folder `assets/agents/<name>/` with `agent.json` (greeting, mode, voice,
 * languages, turn detection, silence), `instructions.md` (a template over the call's data) and an
 * optional `tools.json` manifest. Every problem is reported with the file, the field and what is
 * wrong, so a bad profile stops the service at start-up instead of failing a call.
 *
 * @module
 */

import { REALTIME_VOICES, type TurnDetection, type VoiceMode } from "../platform/config.ts";

/** A Realtime voice name. */
export type RealtimeVoice = typeof REALTIME_VOICES[number];

/** Names of the tools built into the service. */
export const BUILTIN_TOOLS = [
  "end_call",
  "transfer_to_human",
  "send_dtmf",
  "send_sms",
  "switch_language",
] as const;

/** A built-in tool name. */
export type BuiltinToolName = typeof BUILTIN_TOOLS[number];

/** A language the call may switch to (ConversationRelay `<Language>`). */
export interface ProfileLanguage {
  code: string;
  ttsProvider?: string;
  voice?: string;
  transcriptionProvider?: string;
  speechModel?: string;
}

/** What to do when the caller stays silent after the agent's turn was heard. */
export interface SilenceSettings {
  /** Seconds of silence before a reminder (0 = never). */
  reminderAfterSeconds: number;
  /** Reminders before the call ends as `unresponsive`. */
  maxReminders: number;
  reminder: string;
  goodbye: string;
}

/** What `send_sms` may do on a call: text the caller, or only these other numbers; how much. */
export interface SmsSettings {
  /** Numbers besides the caller's that may be texted (E.164); none by default. */
  allowTo: string[];
  /** Texts one call may send. */
  maxPerCall: number;
  /** Longest text, in characters. */
  maxLength: number;
}

/** `sms` when agent.json has none: the caller only, three texts of at most 480 characters. */
export const DEFAULT_SMS: SmsSettings = { allowTo: [], maxPerCall: 3, maxLength: 480 };

/** A tool declared in the manifest that calls the user's own HTTP endpoint. */
export interface HttpToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  url: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  timeoutMs?: number;
}

/**
 * ConversationRelay options of one agent, named as in the twilio SDK's
 * `ConversationRelayAttributes` (which is how they reach the TwiML); unset = Twilio's default.
 */
export interface RelayOptions {
  /** Brief acknowledgments ("yeah", "uh-huh") do not interrupt the agent. */
  ignorebackchannel?: boolean;
  /** Background noise filtering before speech recognition. */
  backgroundnoisereduction?: boolean;
  /** Silence that ends the caller's turn: `auto` or a whole number, passed to Twilio as written. */
  speechtimeout?: string;
  /** How easily the caller's speech interrupts the agent (over `INTERRUPT_SENSITIVITY`). */
  interruptSensitivity?: "low" | "medium" | "high";
  /** Drafts of the caller's words before they finish (the session acts on the final prompt). */
  partialPrompts?: boolean;
  /** Words or phrases recognition should expect, comma-separated (over `STT_HINTS`). */
  hints?: string;
}

/** The fields of {@link RelayOptions}, in the order they are shown and written. */
export const RELAY_OPTIONS = [
  "ignorebackchannel",
  "backgroundnoisereduction",
  "speechtimeout",
  "interruptSensitivity",
  "partialPrompts",
  "hints",
] as const satisfies readonly (keyof RelayOptions)[];

/** One validated agent profile. */
export interface AgentProfile {
  name: string;
  description: string;
  /** Markdown with `{{placeholders}}` for the call's data. */
  instructions: string;
  /** null = the configured default (`WELCOME_GREETING`). */
  greeting: string | null;
  /** null = the configured default (`VOICE_MODE`). */
  mode: VoiceMode | null;
  language: string | null;
  languages: ProfileLanguage[];
  ttsProvider: string | null;
  voice: string | null;
  realtimeVoice: RealtimeVoice | null;
  turnDetection: TurnDetection | null;
  /** ConversationRelay attributes beyond the configuration's. */
  conversationRelay: RelayOptions;
  silence: SilenceSettings;
  /** Number a hand-off dials (else `HANDOFF_NUMBER`). */
  handoffNumber: string | null;
  /** Limits of `send_sms`. */
  sms: SmsSettings;
  /** HTTP tools may reach loopback, link-local and private addresses (off: refused). */
  allowPrivateNetwork: boolean;
  builtinTools: BuiltinToolName[];
  httpTools: HttpToolSpec[];
}

/** The raw files of one profile, as read from disk (or from the store). */
export interface ProfileSource {
  name: string;
  agentJson: string;
  instructions: string;
  toolsJson: string | null;
}

/** Every problem found in the profiles, each naming the file, the field and what is wrong. */
export class ProfileError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid agent profile:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ProfileError";
  }
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const E164 = /^\+[1-9]\d{6,14}$/;
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const DEFAULT_SILENCE: SilenceSettings = {
  reminderAfterSeconds: 0,
  maxReminders: 2,
  reminder: "Are you still there?",
  goodbye: "I haven't heard from you, so I'll end the call now. Goodbye.",
};

type Json = Record<string, unknown>;

/** Collects problems with `file: field must …` wording. */
class Checker {
  readonly problems: string[] = [];
  constructor(readonly file: string) {}
  fail(field: string, message: string): void {
    this.problems.push(`${this.file}: ${field} ${message}`);
  }
  string(obj: Json, field: string, path = field): string | null {
    const v = obj[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== "string") {
      this.fail(path, `must be a string (got ${typeof v})`);
      return null;
    }
    return v;
  }
  oneOf<T extends string>(obj: Json, field: string, allowed: readonly T[], path = field): T | null {
    const v = this.string(obj, field, path);
    if (v === null) return null;
    if (!(allowed as readonly string[]).includes(v)) {
      this.fail(path, `must be one of ${allowed.join(", ")} (got "${v}")`);
      return null;
    }
    return v as T;
  }
  bool(obj: Json, field: string, path = field): boolean | null {
    const v = obj[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== "boolean") {
      this.fail(path, `must be true or false (got ${JSON.stringify(v)})`);
      return null;
    }
    return v;
  }
  number(obj: Json, field: string, min: number, max: number, path = field): number | null {
    const v = obj[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
      this.fail(path, `must be a number from ${min} to ${max} (got ${JSON.stringify(v)})`);
      return null;
    }
    return v;
  }
  object(obj: Json, field: string, path = field): Json | null {
    const v = obj[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== "object" || Array.isArray(v)) {
      this.fail(path, "must be an object");
      return null;
    }
    return v as Json;
  }
  unknownKeys(obj: Json, allowed: string[], prefix = ""): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) {
        this.fail(`${prefix}${key}`, `is not a known field (known: ${allowed.join(", ")})`);
      }
    }
  }
}

function parseJson(text: string, file: string, problems: string[]): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    problems.push(`${file}: is not valid JSON (${(err as Error).message})`);
    return undefined;
  }
}

/** Validates one profile's files; throws {@link ProfileError} listing every problem. */
export function parseProfile(source: ProfileSource, dir = "assets/agents"): AgentProfile {
  const base = `${dir}/${source.name}`;
  const problems: string[] = [];
  if (!NAME.test(source.name)) {
    problems.push(`${base}: the folder name must be lower-case letters, digits, - or _`);
  }
  const c = new Checker(`${base}/agent.json`);
  const raw = parseJson(source.agentJson, c.file, problems);
  const agent: Json = raw && typeof raw === "object" && !Array.isArray(raw) ? raw as Json : {};
  if (raw !== undefined && agent !== raw) c.fail("(top level)", "must be a JSON object");
  c.unknownKeys(agent, [
    "description",
    "greeting",
    "mode",
    "language",
    "languages",
    "ttsProvider",
    "voice",
    "realtimeVoice",
    "turnDetection",
    "conversationRelay",
    "silence",
    "handoffNumber",
    "sms",
    "allowPrivateNetwork",
  ]);
  const languages: ProfileLanguage[] = [];
  if (agent.languages !== undefined) {
    if (!Array.isArray(agent.languages)) c.fail("languages", "must be an array");
    else {
      agent.languages.forEach((l: unknown, i: number) => {
        const entry = l && typeof l === "object" && !Array.isArray(l) ? l as Json : null;
        const code = entry ? c.string(entry, "code", `languages[${i}].code`) : null;
        if (!entry || !code) {
          c.fail(`languages[${i}]`, 'must be an object with a "code" like "es-ES"');
          return;
        }
        c.unknownKeys(entry, [
          "code",
          "ttsProvider",
          "voice",
          "transcriptionProvider",
          "speechModel",
        ], `languages[${i}].`);
        const lang: ProfileLanguage = { code };
        for (
          const key of ["ttsProvider", "voice", "transcriptionProvider", "speechModel"] as const
        ) {
          const v = c.string(entry, key, `languages[${i}].${key}`);
          if (v) lang[key] = v;
        }
        languages.push(lang);
      });
    }
  }
  let turnDetection: TurnDetection | null = null;
  const td = c.object(agent, "turnDetection");
  if (td) {
    const type = c.oneOf(td, "type", ["server_vad", "semantic_vad"], "turnDetection.type");
    if (type === "semantic_vad") {
      turnDetection = {
        type,
        eagerness:
          c.oneOf(td, "eagerness", ["low", "medium", "high", "auto"], "turnDetection.eagerness") ??
            "auto",
      };
    } else if (type === "server_vad") {
      turnDetection = {
        type,
        threshold: c.number(td, "threshold", 0, 1, "turnDetection.threshold") ?? 0.5,
        prefixPaddingMs:
          c.number(td, "prefixPaddingMs", 0, 5000, "turnDetection.prefixPaddingMs") ?? 300,
        silenceDurationMs:
          c.number(td, "silenceDurationMs", 0, 10000, "turnDetection.silenceDurationMs") ??
            500,
      };
    } else if (!("type" in td)) {
      c.fail("turnDetection.type", "is required (server_vad or semantic_vad)");
    }
  }
  const conversationRelay = parseRelayOptions(c, c.object(agent, "conversationRelay"));
  const silence = { ...DEFAULT_SILENCE };
  const si = c.object(agent, "silence");
  if (si) {
    c.unknownKeys(si, ["reminderAfterSeconds", "maxReminders", "reminder", "goodbye"], "silence.");
    silence.reminderAfterSeconds =
      c.number(si, "reminderAfterSeconds", 0, 600, "silence.reminderAfterSeconds") ??
        silence.reminderAfterSeconds;
    silence.maxReminders = c.number(si, "maxReminders", 0, 10, "silence.maxReminders") ??
      silence.maxReminders;
    silence.reminder = c.string(si, "reminder", "silence.reminder") ?? silence.reminder;
    silence.goodbye = c.string(si, "goodbye", "silence.goodbye") ?? silence.goodbye;
  }
  const sms = parseSmsSettings(c, c.object(agent, "sms"));
  const allowPrivateNetwork = c.bool(agent, "allowPrivateNetwork") ?? false;
  const handoffNumber = c.string(agent, "handoffNumber");
  if (handoffNumber !== null && !E164.test(handoffNumber)) {
    c.fail("handoffNumber", `must be an E.164 number like +15550100 (got "${handoffNumber}")`);
  }
  // Read before the problems are collected, so a wrong value is reported, not dropped.
  const fields = {
    description: c.string(agent, "description") ?? "",
    greeting: c.string(agent, "greeting"),
    mode: c.oneOf(agent, "mode", ["relay", "realtime"]),
    language: c.string(agent, "language"),
    ttsProvider: c.string(agent, "ttsProvider"),
    voice: c.string(agent, "voice"),
    realtimeVoice: c.oneOf(agent, "realtimeVoice", REALTIME_VOICES),
  };
  problems.push(...c.problems);
  const tools = parseTools(source.toolsJson, `${base}/tools.json`, problems);
  if (!source.instructions.trim()) problems.push(`${base}/instructions.md: must not be empty`);
  if (problems.length > 0) throw new ProfileError(problems);
  return {
    name: source.name,
    ...fields,
    instructions: source.instructions,
    languages,
    turnDetection,
    conversationRelay,
    silence,
    handoffNumber,
    sms,
    allowPrivateNetwork,
    builtinTools: tools.builtins,
    httpTools: tools.http,
  };
}

/** `sms` of agent.json; problems go to `c`. */
function parseSmsSettings(c: Checker, raw: Json | null): SmsSettings {
  if (!raw) return { ...DEFAULT_SMS, allowTo: [] };
  c.unknownKeys(raw, ["allowTo", "maxPerCall", "maxLength"], "sms.");
  const allowTo: string[] = [];
  if (raw.allowTo !== undefined) {
    if (!Array.isArray(raw.allowTo)) c.fail("sms.allowTo", "must be an array of E.164 numbers");
    else {
      raw.allowTo.forEach((n: unknown, i: number) => {
        if (typeof n === "string" && E164.test(n)) allowTo.push(n);
        else {c.fail(
            `sms.allowTo[${i}]`,
            `must be an E.164 number like +15550100 (got ${JSON.stringify(n)})`,
          );}
      });
    }
  }
  const whole = (field: "maxPerCall" | "maxLength", min: number, max: number) => {
    const n = c.number(raw, field, min, max, `sms.${field}`);
    if (n !== null && !Number.isInteger(n)) {
      c.fail(`sms.${field}`, `must be a whole number (got ${n})`);
      return null;
    }
    return n;
  };
  return {
    allowTo,
    maxPerCall: whole("maxPerCall", 0, 20) ?? DEFAULT_SMS.maxPerCall,
    maxLength: whole("maxLength", 1, 1600) ?? DEFAULT_SMS.maxLength,
  };
}

/** `conversationRelay` of agent.json; problems go to `c`. */
function parseRelayOptions(c: Checker, raw: Json | null): RelayOptions {
  const options: RelayOptions = {};
  if (!raw) return options;
  const at = (field: string) => `conversationRelay.${field}`;
  c.unknownKeys(raw, [...RELAY_OPTIONS], "conversationRelay.");
  for (
    const field of ["ignorebackchannel", "backgroundnoisereduction", "partialPrompts"] as const
  ) {
    const v = c.bool(raw, field, at(field));
    if (v !== null) options[field] = v;
  }
  const sensitivity = c.oneOf(
    raw,
    "interruptSensitivity",
    ["low", "medium", "high"],
    at("interruptSensitivity"),
  );
  if (sensitivity) options.interruptSensitivity = sensitivity;
  const timeout = raw.speechtimeout;
  if (typeof timeout === "number" && Number.isInteger(timeout) && timeout > 0) {
    options.speechtimeout = String(timeout);
  } else if (timeout !== undefined && timeout !== null) {
    const text = typeof timeout === "string" ? timeout.trim() : "";
    const problem = `must be "auto" or a whole number (got ${JSON.stringify(timeout)})`;
    if (/^(auto|[1-9]\d{0,5})$/.test(text)) options.speechtimeout = text;
    else c.fail(at("speechtimeout"), problem);
  }
  const hints = raw.hints;
  if (Array.isArray(hints) && hints.every((h) => typeof h === "string" && h.trim())) {
    if (hints.some((h) => h.includes(","))) c.fail(at("hints"), "entries must not contain commas");
    else if (hints.length) options.hints = hints.map((h) => h.trim()).join(",");
  } else if (typeof hints === "string") {
    if (hints.trim()) options.hints = hints.trim();
  } else if (hints !== undefined && hints !== null) {
    c.fail(at("hints"), "must be a comma-separated string or an array of non-empty strings");
  }
  return options;
}

function parseTools(
  text: string | null,
  file: string,
  problems: string[],
): { builtins: BuiltinToolName[]; http: HttpToolSpec[] } {
  const out = { builtins: [] as BuiltinToolName[], http: [] as HttpToolSpec[] };
  if (text === null) return out;
  const raw = parseJson(text, file, problems);
  if (raw === undefined) return out;
  if (!Array.isArray(raw)) {
    problems.push(`${file}: must be an array of tool names and HTTP tool objects`);
    return out;
  }
  const c = new Checker(file);
  const seen = new Set<string>();
  raw.forEach((entry: unknown, i: number) => {
    const at = `[${i}]`;
    if (typeof entry === "string") {
      if (!(BUILTIN_TOOLS as readonly string[]).includes(entry)) {
        c.fail(at, `"${entry}" is not a built-in tool (${BUILTIN_TOOLS.join(", ")})`);
      } else if (seen.has(entry)) c.fail(at, `"${entry}" is listed twice`);
      else out.builtins.push(entry as BuiltinToolName);
      seen.add(entry);
      return;
    }
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) {
      c.fail(at, "must be a built-in tool name or an HTTP tool object");
      return;
    }
    const t = entry as Json;
    c.unknownKeys(t, ["name", "description", "parameters", "url", "method", "timeoutMs"], `${at}.`);
    const name = c.string(t, "name", `${at}.name`);
    const description = c.string(t, "description", `${at}.description`);
    const url = c.string(t, "url", `${at}.url`);
    const method =
      c.oneOf(t, "method", ["GET", "POST", "PUT", "PATCH", "DELETE"], `${at}.method`) ??
        "POST";
    const timeoutMs = c.number(t, "timeoutMs", 100, 60000, `${at}.timeoutMs`) ?? undefined;
    if (!name || !TOOL_NAME.test(name)) {
      c.fail(`${at}.name`, "is required: letters, digits, _ or -, at most 64");
    } else if (seen.has(name)) c.fail(`${at}.name`, `"${name}" is used twice`);
    else seen.add(name);
    if (!description) c.fail(`${at}.description`, "is required (the model reads it)");
    const parsedUrl = url ? URL.parse(url) : null;
    if (!parsedUrl || !["http:", "https:"].includes(parsedUrl.protocol)) {
      c.fail(`${at}.url`, "must be an http(s) URL");
    }
    const given = t.parameters ?? { type: "object", properties: {} };
    // Arguments the schema does not name are refused unless the manifest says otherwise.
    const parameters = given && typeof given === "object" && !Array.isArray(given) &&
        !("additionalProperties" in given)
      ? { ...given, additionalProperties: false }
      : given;
    if (
      !parameters || typeof parameters !== "object" || Array.isArray(parameters) ||
      (parameters as Json).type !== "object"
    ) {
      c.fail(`${at}.parameters`, 'must be a JSON Schema with "type": "object"');
    }
    if (name && description && url && parsedUrl) {
      out.http.push({
        name,
        description,
        parameters: parameters as Json,
        url,
        method,
        ...(timeoutMs ? { timeoutMs } : {}),
      });
    }
  });
  problems.push(...c.problems);
  return out;
}

/** A validated profile with the files it was read from (the editor starts from them). */
export interface LoadedProfile {
  source: ProfileSource;
  profile: AgentProfile;
}

/** Reads and validates every profile under `dir`; there must be a `default` one. */
export async function loadProfiles(dir: string): Promise<Map<string, AgentProfile>> {
  const loaded = await loadProfileFiles(dir);
  return new Map([...loaded].map(([name, { profile }]) => [name, profile]));
}

/** {@link loadProfiles}, keeping each profile's files too. */
export async function loadProfileFiles(dir: string): Promise<Map<string, LoadedProfile>> {
  const profiles = new Map<string, LoadedProfile>();
  const problems: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (err) {
    throw new ProfileError([`${dir}: cannot read the agents folder (${(err as Error).name})`]);
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory) continue;
    const read = async (file: string) => {
      try {
        return await Deno.readTextFile(`${dir}/${entry.name}/${file}`);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return null;
        throw err;
      }
    };
    const agentJson = await read("agent.json");
    const instructions = await read("instructions.md");
    if (agentJson === null) problems.push(`${dir}/${entry.name}/agent.json: is missing`);
    if (instructions === null) problems.push(`${dir}/${entry.name}/instructions.md: is missing`);
    if (agentJson === null || instructions === null) continue;
    try {
      const source = {
        name: entry.name,
        agentJson,
        instructions,
        toolsJson: await read("tools.json"),
      };
      profiles.set(entry.name, { source, profile: parseProfile(source, dir) });
    } catch (err) {
      if (err instanceof ProfileError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (!profiles.has("default") && !problems.some((p) => p.startsWith(`${dir}/default/`))) {
    problems.push(`${dir}/default: a "default" profile is required`);
  }
  if (problems.length > 0) throw new ProfileError(problems);
  return profiles;
}
