/**
 * Agent profiles: what an agent says and does, configured without code.
 *
 * A profile is a folder `assets/agents/<name>/` with `agent.json` (greeting, mode, voice,
 * languages, turn detection, silence), `instructions.md` (a template over the call's data) and an
 * optional `tools.json` manifest. The JSON files are validated against the schemas published
 * next to them (see `profile_schema.ts`), then given their defaults. Every problem is reported
 * with the file, the field and what is wrong, so a bad profile stops the service at start-up
 * instead of failing a call.
 *
 * @module
 */

import type { REALTIME_VOICES, TurnDetection, VoiceMode } from "../platform/config.ts";
import { agentJsonProblems, toolsJsonProblems } from "./profile_schema.ts";
import { afterCallOf, type AfterCallProfile, analysisProblems } from "./analysis_profile.ts";
import type { ProfileLanguage, RelayOptions } from "../protocols/twiml.ts";

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

/** The fields of {@link RelayOptions}, in the order they are shown and written. */
export const RELAY_OPTIONS = [
  "ignorebackchannel",
  "backgroundnoisereduction",
  "speechtimeout",
  "interruptSensitivity",
  "partialPrompts",
  "hints",
] as const satisfies readonly (keyof RelayOptions)[];

/** One validated agent profile (with its after-call settings: analysis, webhook, recording). */
export interface AgentProfile extends AfterCallProfile {
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
const DEFAULT_SILENCE: SilenceSettings = {
  reminderAfterSeconds: 0,
  maxReminders: 2,
  reminder: "Are you still there?",
  goodbye: "I haven't heard from you, so I'll end the call now. Goodbye.",
};

type Json = Record<string, unknown>;

/** agent.json as agent.schema.json admits it. */
interface AgentFile {
  description?: string;
  greeting?: string;
  mode?: VoiceMode;
  language?: string;
  languages?: ProfileLanguage[];
  ttsProvider?: string;
  voice?: string;
  realtimeVoice?: RealtimeVoice;
  turnDetection?: Partial<TurnDetectionFile> & Pick<TurnDetectionFile, "type">;
  conversationRelay?: Omit<RelayOptions, "speechtimeout" | "hints"> & {
    speechtimeout?: string | number;
    hints?: string | string[];
  };
  silence?: Partial<SilenceSettings>;
  handoffNumber?: string;
  sms?: Partial<SmsSettings>;
  allowPrivateNetwork?: boolean;
}

/** Every field of either kind of turn detection. */
type TurnDetectionFile =
  & Omit<Extract<TurnDetection, { type: "server_vad" }>, "type">
  & Omit<Extract<TurnDetection, { type: "semantic_vad" }>, "type">
  & { type: TurnDetection["type"] };

/** One entry of tools.json as tools.schema.json admits it. */
type ToolEntry =
  | BuiltinToolName
  | Omit<HttpToolSpec, "method" | "parameters"> & {
    method?: HttpToolSpec["method"];
    parameters?: Json;
  };

/** `text` parsed, or undefined with the problem added to `problems`. */
function parseJson(text: string, file: string, problems: string[]): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    problems.push(`${file}: is not valid JSON (${(err as Error).message})`);
    return undefined;
  }
}

/**
 * Validates one profile's files against the published schemas (and what a schema cannot say:
 * the folder name, each tool name once, URLs that parse, non-empty instructions), then fills in
 * the defaults;
 * throws {@link ProfileError} listing every problem of every file.
 */
export function parseProfile(source: ProfileSource, dir = "assets/agents"): AgentProfile {
  const base = `${dir}/${source.name}`;
  const problems: string[] = [];
  if (!NAME.test(source.name)) {
    problems.push(`${base}: the folder name must be lower-case letters, digits, - or _`);
  }
  const agentFile = `${base}/agent.json`;
  const agent = parseJson(source.agentJson, agentFile, problems);
  if (agent !== undefined) problems.push(...agentJsonProblems(agent, agentFile));
  if (agent !== undefined && problems.length === 0) {
    problems.push(...analysisProblems(agent, agentFile));
  }
  const toolsFile = `${base}/tools.json`;
  const tools = source.toolsJson === null ? [] : parseJson(source.toolsJson, toolsFile, problems);
  if (tools !== undefined) problems.push(...toolsFileProblems(tools, toolsFile));
  if (!source.instructions.trim()) problems.push(`${base}/instructions.md: must not be empty`);
  if (problems.length > 0) throw new ProfileError(problems);
  return profileOf(source, agent as AgentFile, tools as ToolEntry[]);
}

/** tools.json's schema problems, then duplicate names and URLs that do not parse. */
function toolsFileProblems(raw: unknown, file: string): string[] {
  const problems = toolsJsonProblems(raw, file);
  if (!Array.isArray(raw)) return problems;
  // A field the schema already faulted is not faulted twice.
  const fail = (field: string, text: string) => {
    if (!problems.some((p) => p.startsWith(`${file}: ${field} `))) {
      problems.push(`${file}: ${field} ${text}`);
    }
  };
  const seen = new Set<string>();
  raw.forEach((entry: unknown, i: number) => {
    if (typeof entry === "string") {
      if (seen.has(entry)) fail(`[${i}]`, `"${entry}" is listed twice`);
      seen.add(entry);
      return;
    }
    const { name, url } = (entry && typeof entry === "object" ? entry : {}) as Json;
    if (typeof name === "string") {
      if (seen.has(name)) fail(`[${i}].name`, `"${name}" is used twice`);
      seen.add(name);
    }
    if (typeof url === "string" && !URL.parse(url)) {
      fail(`[${i}].url`, `must be an http(s) URL (got ${JSON.stringify(url)})`);
    }
  });
  return problems;
}

/** The profile of valid files: what they leave out gets its default. */
function profileOf(source: ProfileSource, agent: AgentFile, tools: ToolEntry[]): AgentProfile {
  return {
    name: source.name,
    description: agent.description ?? "",
    instructions: source.instructions,
    greeting: agent.greeting ?? null,
    mode: agent.mode ?? null,
    language: agent.language ?? null,
    languages: (agent.languages ?? []).map(languageOf),
    ttsProvider: agent.ttsProvider ?? null,
    voice: agent.voice ?? null,
    realtimeVoice: agent.realtimeVoice ?? null,
    turnDetection: turnDetectionOf(agent.turnDetection),
    conversationRelay: relayOptionsOf(agent.conversationRelay ?? {}),
    silence: { ...DEFAULT_SILENCE, ...agent.silence },
    handoffNumber: agent.handoffNumber ?? null,
    sms: { ...DEFAULT_SMS, ...agent.sms, allowTo: [...(agent.sms?.allowTo ?? [])] },
    allowPrivateNetwork: agent.allowPrivateNetwork ?? false,
    builtinTools: tools.filter((t): t is BuiltinToolName => typeof t === "string"),
    httpTools: tools.flatMap((t) => typeof t === "string" ? [] : [httpToolOf(t)]),
    ...afterCallOf(agent as unknown as Json),
  };
}

/** A language with its empty settings left out. */
function languageOf({ code, ...settings }: ProfileLanguage): ProfileLanguage {
  const language: ProfileLanguage = { code };
  for (const key of ["ttsProvider", "voice", "transcriptionProvider", "speechModel"] as const) {
    if (settings[key]) language[key] = settings[key];
  }
  return language;
}

/** Turn detection with the Realtime API's defaults for what is left out. */
function turnDetectionOf(raw: AgentFile["turnDetection"]): TurnDetection | null {
  if (!raw) return null;
  if (raw.type === "semantic_vad") return { type: raw.type, eagerness: raw.eagerness ?? "auto" };
  return {
    type: raw.type,
    threshold: raw.threshold ?? 0.5,
    prefixPaddingMs: raw.prefixPaddingMs ?? 300,
    silenceDurationMs: raw.silenceDurationMs ?? 500,
  };
}

/** ConversationRelay options as the TwiML takes them: strings trimmed, hints comma-joined. */
function relayOptionsOf(raw: NonNullable<AgentFile["conversationRelay"]>): RelayOptions {
  const { speechtimeout, hints, ...rest } = raw;
  const options: RelayOptions = { ...rest };
  if (speechtimeout !== undefined) options.speechtimeout = String(speechtimeout).trim();
  const joined = Array.isArray(hints) ? hints.map((h) => h.trim()).join(",") : hints?.trim();
  if (joined) options.hints = joined;
  return options;
}

/** An HTTP tool with the default method and parameters; undeclared arguments refused. */
function httpToolOf(entry: Exclude<ToolEntry, string>): HttpToolSpec {
  const { name, description, url, timeoutMs } = entry;
  const given = entry.parameters ?? { type: "object", properties: {} };
  // Arguments the schema does not name are refused unless the manifest says otherwise.
  const parameters = "additionalProperties" in given
    ? given
    : { ...given, additionalProperties: false };
  return {
    name,
    description,
    parameters,
    url,
    method: entry.method ?? "POST",
    ...(timeoutMs ? { timeoutMs } : {}),
  };
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
