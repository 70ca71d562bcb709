/**
 * The agent editor's form: the fields an operator edits (instructions, greeting, voice, models,
 * tools, silence, ConversationRelay options) read from and merged back into a profile's files,
 * and validation problems placed next to the field they are about. Fields the form does not
 * show are kept as they were.
 *
 * @module
 */

import { RELAY_OPTIONS } from "./agent_profile.ts";
import type { ProfileFiles } from "./profile_store.ts";

/** The form's values, as typed. */
export interface ProfileForm {
  instructions: string;
  greeting: string;
  ttsProvider: string;
  voice: string;
  realtimeVoice: string;
  /** Model settings, as typed ("" = the configured default). */
  model: string;
  api: string;
  realtimeModel: string;
  temperature: string;
  maxOutputTokens: string;
  reminderAfterSeconds: string;
  maxReminders: string;
  reminder: string;
  goodbye: string;
  /** ConversationRelay options, as typed ("" = Twilio's default; booleans "true"/"false"). */
  ignorebackchannel: string;
  backgroundnoisereduction: string;
  speechtimeout: string;
  interruptSensitivity: string;
  partialPrompts: string;
  hints: string;
  toolsJson: string;
  /** agent.json's `analysis` as JSON text ("" = none). */
  analysisJson: string;
  webhookUrl: string;
  /** "true" = record calls. */
  record: string;
}

/** The model settings' fields, kept at the top level of agent.json. */
const MODEL_FIELDS = ["model", "api", "realtimeModel", "temperature", "maxOutputTokens"] as const;

/** Form field names, in order. */
export const PROFILE_FORM_FIELDS: readonly (keyof ProfileForm)[] = [
  "instructions",
  "greeting",
  "ttsProvider",
  "voice",
  "realtimeVoice",
  ...MODEL_FIELDS,
  "reminderAfterSeconds",
  "maxReminders",
  "reminder",
  "goodbye",
  ...RELAY_OPTIONS,
  "toolsJson",
  "analysisJson",
  "webhookUrl",
  "record",
];

const AGENT_FIELDS = ["greeting", "ttsProvider", "voice", "realtimeVoice"] as const;
const SILENCE_FIELDS = ["reminderAfterSeconds", "maxReminders", "reminder", "goodbye"] as const;
const NUMBER_FIELDS = new Set([
  "reminderAfterSeconds",
  "maxReminders",
  "temperature",
  "maxOutputTokens",
]);
const BOOLEAN_FIELDS = new Set(["ignorebackchannel", "backgroundnoisereduction", "partialPrompts"]);

type Json = Record<string, unknown>;

/** The form filled from a profile's files. */
export function formFromFiles(files: ProfileFiles): ProfileForm {
  const agent = parseObject(files.agentJson);
  const silence = (agent.silence && typeof agent.silence === "object" ? agent.silence : {}) as Json;
  const relay =
    (agent.conversationRelay && typeof agent.conversationRelay === "object"
      ? agent.conversationRelay
      : {}) as Json;
  const text = (v: unknown) =>
    v === undefined || v === null ? "" : Array.isArray(v) ? v.join(",") : String(v);
  return {
    instructions: files.instructions,
    greeting: text(agent.greeting),
    ttsProvider: text(agent.ttsProvider),
    voice: text(agent.voice),
    realtimeVoice: text(agent.realtimeVoice),
    model: text(agent.model),
    api: text(agent.api),
    realtimeModel: text(agent.realtimeModel),
    temperature: text(agent.temperature),
    maxOutputTokens: text(agent.maxOutputTokens),
    reminderAfterSeconds: text(silence.reminderAfterSeconds),
    maxReminders: text(silence.maxReminders),
    reminder: text(silence.reminder),
    goodbye: text(silence.goodbye),
    ignorebackchannel: text(relay.ignorebackchannel),
    backgroundnoisereduction: text(relay.backgroundnoisereduction),
    speechtimeout: text(relay.speechtimeout),
    interruptSensitivity: text(relay.interruptSensitivity),
    partialPrompts: text(relay.partialPrompts),
    hints: text(relay.hints),
    toolsJson: files.toolsJson ?? "",
    analysisJson: agent.analysis === undefined ? "" : JSON.stringify(agent.analysis, null, 2),
    webhookUrl: text(agent.webhookUrl),
    record: text(agent.record),
  };
}

/** The form's fields from a posted body (missing ones empty, line ends normalised). */
export function readProfileForm(body: Record<string, unknown>): ProfileForm {
  const form = {} as ProfileForm;
  for (const field of PROFILE_FORM_FIELDS) {
    const value = body[field];
    form[field] = typeof value === "string" ? value.replace(/\r\n/g, "\n") : "";
  }
  return form;
}

/** `current` with the form's edits: empty fields fall back to the configured defaults. */
export function filesFromForm(current: ProfileFiles, form: ProfileForm): ProfileFiles {
  const agent = parseObject(current.agentJson);
  for (const field of AGENT_FIELDS) {
    if (form[field].trim()) agent[field] = form[field].trim();
    else delete agent[field];
  }
  for (const field of MODEL_FIELDS) {
    const value = form[field].trim();
    // A number field keeps a non-number (and "inf") as text, so validation names it.
    if (!value) delete agent[field];
    else if (NUMBER_FIELDS.has(field) && /^-?\d+(\.\d+)?$/.test(value)) {
      agent[field] = Number(value);
    } else agent[field] = value;
  }
  const silence: Json = {};
  for (const field of SILENCE_FIELDS) {
    const value = form[field].trim();
    if (!value) continue;
    // A number field keeps a non-number as text, so validation names it.
    silence[field] = NUMBER_FIELDS.has(field) && /^-?\d+(\.\d+)?$/.test(value)
      ? Number(value)
      : value;
  }
  if (Object.keys(silence).length) agent.silence = silence;
  else delete agent.silence;
  const relay: Json = {};
  for (const field of RELAY_OPTIONS) {
    const value = form[field].trim();
    if (!value) continue;
    // A yes/no field keeps anything else as text, so validation names it.
    relay[field] = BOOLEAN_FIELDS.has(field) && (value === "true" || value === "false")
      ? value === "true"
      : value;
  }
  if (Object.keys(relay).length) agent.conversationRelay = relay;
  else delete agent.conversationRelay;
  afterCallFromForm(agent, form);
  return {
    agentJson: `${JSON.stringify(agent, null, 2)}\n`,
    instructions: form.instructions,
    toolsJson: form.toolsJson.trim() ? form.toolsJson : null,
  };
}

/**
 * Validation problems by form field (`general` for the rest). A problem reads
 * `<dir>/<name>/<file>: <field> <what is wrong>`.
 */
export function problemsByField(problems: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const problem of problems) {
    const field = fieldOf(problem);
    (out[field] ??= []).push(
      problem.replace(/^.*?\/(agent\.json|tools\.json|instructions\.md):/, "$1:"),
    );
  }
  return out;
}

/** `analysis`, `webhookUrl` and `record` from the form (text that is not JSON kept as text). */
function afterCallFromForm(agent: Json, form: ProfileForm): void {
  const analysis = form.analysisJson.trim();
  if (!analysis) delete agent.analysis;
  else {
    try {
      agent.analysis = JSON.parse(analysis);
    } catch {
      agent.analysis = analysis; // validation says it must be an object
    }
  }
  if (form.webhookUrl.trim()) agent.webhookUrl = form.webhookUrl.trim();
  else delete agent.webhookUrl;
  const record = form.record.trim();
  if (record === "true") agent.record = true;
  else if (record === "false" || record === "") delete agent.record;
  else agent.record = record;
}

function fieldOf(problem: string): string {
  const match = problem.match(/\/(agent\.json|tools\.json|instructions\.md): (\S+)/);
  if (!match) return "general";
  if (match[1] === "tools.json") return "toolsJson";
  if (match[1] === "instructions.md") return "instructions";
  // `hints[0]` is about `hints`.
  const [head, sub] = match[2].split(".").map((part) => part.replace(/\[\d+\]$/, ""));
  if (head === "silence") {
    return (SILENCE_FIELDS as readonly string[]).includes(sub) ? sub : "reminderAfterSeconds";
  }
  if (head === "analysis") return "analysisJson";
  if (head === "webhookUrl" || head === "record") return head;
  if (head === "conversationRelay") {
    return (RELAY_OPTIONS as readonly string[]).includes(sub) ? sub : "general";
  }
  if ((MODEL_FIELDS as readonly string[]).includes(head)) return head;
  return (AGENT_FIELDS as readonly string[]).includes(head) ? head : "general";
}

function parseObject(text: string): Json {
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}
