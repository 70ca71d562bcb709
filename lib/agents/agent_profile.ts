/**
 * Agent profiles: what an agent says and does, configured without code.
 *
 * A profile is a folder `assets/agents/<name>/` with `agent.json` (greeting, mode, voice,
 * languages, turn detection, silence), `instructions.md` (a template over the call's data) and an
 * optional `tools.json` manifest. The JSON files are validated against the schemas published
 * next to them (see `profile_schema.ts`), then given their defaults. Every problem is reported
 * with the file, the field and what is wrong — every problem of every file at once, a JSON
 * syntax error with its line and column. A bad profile does not stop the service: it is
 * disabled with its problems (`profile_folders.ts`), and the other agents keep answering.
 *
 * @module
 */

import type {
  OpenAiApi,
  REALTIME_VOICES,
  TurnDetection,
  VoiceEngine,
  VoiceMode,
} from "../platform/config.ts";
import { agentJsonProblems, toolsJsonProblems } from "./profile_schema.ts";
import { afterCallOf, type AfterCallProfile, analysisProblems } from "./analysis_profile.ts";
import type { ProfileLanguage, RelayOptions } from "../protocols/twiml.ts";
import { CALL_VARIABLES, templateCheck } from "./template.ts";
import { parse as parseJsonc, type ParseError } from "jsonc-parser";

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
  /** The relay path's model; null = `OPENAI_MODEL`. */
  model: string | null;
  /** The relay path's API; null = `OPENAI_API`. */
  api: OpenAiApi | null;
  /** The realtime path's model; null = `OPENAI_REALTIME_MODEL`. */
  realtimeModel: string | null;
  /** The realtime path's voice API; null = `OPENAI_VOICE_ENGINE`. */
  engine: VoiceEngine | null;
  /** Sampling temperature of the relay path (the GA Realtime API has none); null = the API's. */
  temperature: number | null;
  /** Longest reply in tokens, or "inf"; null = the model's maximum. */
  maxOutputTokens: number | "inf" | null;
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
  /** Outbound params the templates may name besides the call variables. */
  outboundParams: string[];
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
  model?: string;
  api?: OpenAiApi;
  realtimeModel?: string;
  engine?: VoiceEngine;
  temperature?: number;
  maxOutputTokens?: number | "inf";
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
  outboundParams?: string[];
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

/** `text` parsed, or undefined with the problem (and where it is) added to `problems`. */
function parseJson(text: string, file: string, problems: string[]): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    problems.push(`${file}: ${jsonSyntaxProblem(text, (err as Error).message)}`);
    return undefined;
  }
}

/**
 * A JSON syntax error as `is not valid JSON at line L, column C (what)`. The runtime's message
 * says what is wrong but not always where (V8 names no position for an unexpected token), so the
 * place is the parser's position when it gives one, else jsonc-parser's (strict: no comments,
 * no trailing commas) first error.
 */
export function jsonSyntaxProblem(text: string, message: string): string {
  const what = message
    .replace(/, ".*" is not valid JSON$/s, "")
    .replace(/ (in JSON )?at position \d+.*$/s, "")
    .replace(/ after JSON$/, " after the JSON value");
  const given = message.match(/at position (\d+)/);
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false });
  const at = given ? Number(given[1]) : errors[0]?.offset;
  if (at === undefined) return `is not valid JSON (${what})`;
  const before = text.slice(0, at).split("\n");
  return `is not valid JSON at line ${before.length}, column ${
    before.at(-1)!.length + 1
  } (${what})`;
}

/** A profile's files as read from a folder: agent.json or instructions.md may be missing. */
export type FolderSource = Omit<ProfileSource, "agentJson" | "instructions"> & {
  agentJson: string | null;
  instructions: string | null;
};

/** What {@link checkProfile} found: the profile (null when there are problems) and why not. */
export interface ProfileCheck {
  profile: AgentProfile | null;
  /** Every problem of every file, each naming the file, the field and what is wrong. */
  problems: string[];
}

/**
 * Validates one profile's files against the published schemas (and what a schema cannot say:
 * the folder name, each tool name once, URLs that parse, non-empty instructions, templates whose
 * sections are closed), then fills in the defaults; throws {@link ProfileError} listing every
 * problem of every file.
 */
export function parseProfile(source: ProfileSource, dir = "assets/agents"): AgentProfile {
  const { profile, problems } = checkProfile(source, dir);
  if (!profile) throw new ProfileError(problems);
  return profile;
}

/** {@link parseProfile} without throwing: a missing file is one problem among the others. */
export function checkProfile(source: FolderSource, dir = "assets/agents"): ProfileCheck {
  const base = `${dir}/${source.name}`;
  const problems: string[] = [];
  if (!NAME.test(source.name)) {
    problems.push(`${base}: the folder name must be lower-case letters, digits, - or _`);
  }
  const agentFile = `${base}/agent.json`;
  const agent = source.agentJson === null
    ? (problems.push(`${agentFile}: is missing`), undefined)
    : parseJson(source.agentJson, agentFile, problems);
  const agentOk = agent !== undefined && agentJsonProblems(agent, agentFile);
  if (agentOk) problems.push(...agentOk);
  if (agent !== undefined && agentOk && agentOk.length === 0) {
    problems.push(...analysisProblems(agent, agentFile));
  }
  const toolsFile = `${base}/tools.json`;
  const tools = source.toolsJson === null ? [] : parseJson(source.toolsJson, toolsFile, problems);
  if (tools !== undefined) problems.push(...toolsFileProblems(tools, toolsFile));
  const instructionsFile = `${base}/instructions.md`;
  if (source.instructions === null) problems.push(`${instructionsFile}: is missing`);
  else if (!source.instructions.trim()) problems.push(`${instructionsFile}: must not be empty`);
  const file = (agentOk && agentOk.length === 0 ? agent : {}) as AgentFile;
  const templates = templateFindings(
    { instructions: source.instructions ?? "", greeting: file.greeting ?? null },
    file.outboundParams ?? [],
    base,
  );
  problems.push(...templates.errors);
  if (problems.length > 0) return { profile: null, problems };
  const files = { ...source, agentJson: source.agentJson!, instructions: source.instructions! };
  return { profile: profileOf(files, agent as AgentFile, tools as ToolEntry[]), problems };
}

/**
 * Warnings about a valid profile: template names that are neither call variables nor declared
 * `outboundParams` (they render as nothing), each naming the file.
 */
export function profileWarnings(profile: AgentProfile, dir = "assets/agents"): string[] {
  return templateFindings(profile, profile.outboundParams, `${dir}/${profile.name}`).warnings;
}

/** The template errors and warnings of the instructions and the greeting, with their files. */
function templateFindings(
  texts: { instructions: string; greeting: string | null },
  params: string[],
  base: string,
): { errors: string[]; warnings: string[] } {
  const known = [...CALL_VARIABLES, ...params];
  const instructions = templateCheck(texts.instructions, known);
  const greeting = templateCheck(texts.greeting ?? "", known);
  const name = (file: string) => (text: string) => `${base}/${file}: ${text}`;
  return {
    errors: [
      ...instructions.errors.map(name("instructions.md")),
      ...greeting.errors.map(name("agent.json")).map((p) => p.replace(": line", ": greeting line")),
    ],
    warnings: [
      ...instructions.warnings.map(name("instructions.md")),
      ...greeting.warnings.map(name("agent.json")).map((p) =>
        p.replace(": line", ": greeting line")
      ),
    ],
  };
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
    if (typeof url === "string" && url.startsWith("/")) {
      // This service's own demo endpoints (see http_tool.ts); nothing else of it.
      if (!/^\/demo\/[\w\-/]+$/.test(url) || url.includes("..")) {
        fail(`[${i}].url`, `a relative URL must name a demo endpoint, /demo/… (got ${url})`);
      }
    } else if (typeof url === "string" && !URL.parse(url)) {
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
    model: agent.model ?? null,
    api: agent.api ?? null,
    realtimeModel: agent.realtimeModel ?? null,
    engine: agent.engine ?? null,
    temperature: agent.temperature ?? null,
    maxOutputTokens: agent.maxOutputTokens ?? null,
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
    outboundParams: [...(agent.outboundParams ?? [])],
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
