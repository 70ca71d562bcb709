/**
 * Number set-up: points one of the account's Twilio numbers at this service, so a new line needs
 * no clicking in the console. Used by `deno task setup-number`; every problem names the variable
 * or flag to fix.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type twilio from "twilio";
import { ProfileError } from "../agents/agent_profile.ts";
import { readProfileFolders } from "../agents/profile_folders.ts";
import { ProfileStore } from "../agents/profile_store.ts";
import type { Config, VoiceMode } from "../platform/config.ts";

/** What to set up. */
export interface NumberSetupOptions {
  /** The owned number, E.164. */
  number: string;
  /** Agent profile the number answers with. */
  agent: string;
  /** Pins the call path (`/twilio/voice/<mode>`); null = the agent's mode. */
  mode: VoiceMode | null;
  /** Report the changes without making them. */
  dryRun: boolean;
}

/** One field of the number: its value before and after the set-up. */
export interface NumberFieldChange {
  field: "voiceUrl" | "voiceMethod" | "statusCallback" | "statusCallbackMethod";
  before: string;
  after: string;
}

/** What the set-up found and did. */
export interface NumberSetupResult {
  /** "" when the number was not looked up (a dry run without Twilio credentials). */
  sid: string;
  phoneNumber: string;
  /** Only the fields whose value differs; empty when the number was already set up. */
  changes: NumberFieldChange[];
  /** Whether Twilio was updated (false on a dry run or when nothing changes). */
  applied: boolean;
  /**
   * Whether the number's current values were read from Twilio. A dry run without credentials
   * does not: then `changes` lists every field with what it would be set to, `before` "".
   */
  lookedUp: boolean;
}

/** What the set-up uses. */
export interface NumberSetupDeps {
  config: Config;
  /** null when the Twilio credentials are not configured (reported as a problem). */
  client: twilio.Twilio | null;
  /** The service's KV (`KV_PATH`), where the agents created from the pages are; null: none yet. */
  kv: Deno.Kv | null;
}

/** Wrong flags or configuration; each problem names the flag or variable. */
export class NumberSetupError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "NumberSetupError";
  }
}

/** How to call the task. */
export const SETUP_USAGE =
  "usage: deno task setup-number --number +15550100 [--agent NAME] [--mode relay|realtime|sip] [--dry-run]";

/** `--help`: what the task sets, its flags and the variables it reads. */
export const SETUP_HELP = `${SETUP_USAGE}

Points one of your Twilio numbers at this service, through Twilio's REST API:
  voiceUrl        PUBLIC_URL/twilio/voice[/<mode>]?agent=NAME (HTTP POST)
  statusCallback  PUBLIC_URL/twilio/status (HTTP POST), so call records get Twilio's final status
Only the fields whose value differs are changed; each change is printed as before → after.

Flags:
  --number E164   the number, e.g. +15550100123 (required)
  --agent NAME    the agent profile it answers with (default: default)
  --mode MODE     relay, realtime or sip: pins the call path (default: the agent's own mode);
                  sip needs OPENAI_PROJECT_ID (calls are dialled to OpenAI's SIP endpoint)
  --dry-run       print what would be set and change nothing; works without Twilio credentials
  -h, --help      this text

Variables (from the environment or .env): PUBLIC_URL (https://), TWILIO_ACCOUNT_SID,
TWILIO_AUTH_TOKEN, AGENTS_DIR, OPENAI_PROJECT_ID (for sip).`;

/** Whether `args` ask for {@link SETUP_HELP} (then nothing else is checked). */
export function wantsHelp(args: string[]): boolean {
  return args.some((arg) => arg === "--help" || arg === "-h");
}

const FIELDS = ["voiceUrl", "voiceMethod", "statusCallback", "statusCallbackMethod"] as const;
const E164 = /^\+[1-9]\d{6,14}$/;
const MODES: readonly VoiceMode[] = ["relay", "realtime", "sip"];

/**
 * Reads the command-line flags; throws {@link NumberSetupError} naming each bad flag. The number's
 * form is checked by {@link setupNumber}, with the rest of the options.
 */
export function parseSetupArgs(args: string[]): NumberSetupOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        number: { type: "string" },
        agent: { type: "string" },
        mode: { type: "string" },
        "dry-run": { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new NumberSetupError([(err as Error).message]);
  }
  const problems: string[] = [];
  const number = values.number?.trim() ?? "";
  if (!number) problems.push("--number is required");
  const mode = values.mode ?? null;
  if (mode !== null && !(MODES as readonly string[]).includes(mode)) {
    problems.push(`--mode must be relay, realtime or sip (got "${mode}")`);
  }
  if (problems.length > 0) throw new NumberSetupError(problems);
  return {
    number,
    agent: values.agent?.trim() || "default",
    mode: mode as VoiceMode | null,
    dryRun: values["dry-run"] ?? false,
  };
}

/**
 * Points `options.number`'s voice webhook (POST) and status callback at `config.publicUrl`, for
 * an agent of the folders or one created from the pages (in KV).
 */
export async function setupNumber(
  deps: NumberSetupDeps,
  options: NumberSetupOptions,
): Promise<NumberSetupResult> {
  const { config, client } = deps;
  const problems: string[] = [];
  if (!config.publicUrl) {
    problems.push("PUBLIC_URL must be set to the https:// base URL Twilio reaches");
  } else if (!config.publicUrl.startsWith("https://")) {
    problems.push(`PUBLIC_URL must start with https:// (got "${config.publicUrl}")`);
  }
  // A dry run without credentials still says what it would set.
  if (!client && !options.dryRun) {
    problems.push("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set");
  }
  if (!E164.test(options.number)) {
    problems.push(`--number must be an E.164 number like +15550100 (got "${options.number}")`);
  }
  problems.push(...await agentProblems(deps, options));
  if (problems.length > 0) throw new NumberSetupError(problems);
  const wanted = {
    voiceUrl: voiceWebhookUrl(config.publicUrl!, options),
    voiceMethod: "POST",
    statusCallback: `${config.publicUrl}/twilio/status`,
    // `/twilio/status` takes POSTs only.
    statusCallbackMethod: "POST",
  };
  if (!client) {
    const changes = FIELDS.map((field) => ({ field, before: "", after: wanted[field] }));
    return { sid: "", phoneNumber: options.number, changes, applied: false, lookedUp: false };
  }
  const [owned] = await twilioRequest(
    () => client.incomingPhoneNumbers.list({ phoneNumber: options.number, limit: 1 }),
  );
  if (!owned) {
    throw new NumberSetupError([
      `--number ${options.number} is not a phone number of Twilio account ${config.twilio.accountSid}`,
    ]);
  }
  const changes: NumberFieldChange[] = [];
  for (const field of FIELDS) {
    const before = owned[field] ?? "";
    if (before !== wanted[field]) changes.push({ field, before, after: wanted[field] });
  }
  const applied = changes.length > 0 && !options.dryRun;
  if (applied) await twilioRequest(() => client.incomingPhoneNumbers(owned.sid).update(wanted));
  return { sid: owned.sid, phoneNumber: owned.phoneNumber, changes, applied, lookedUp: true };
}

/** The voice webhook a number gets: `/twilio/voice[/<mode>]?agent=NAME`. */
export function voiceWebhookUrl(
  publicUrl: string,
  options: Pick<NumberSetupOptions, "agent" | "mode">,
): string {
  const path = options.mode ? `/twilio/voice/${options.mode}` : "/twilio/voice";
  return `${publicUrl}${path}?${new URLSearchParams({ agent: options.agent })}`;
}

/** The report printed for `result`: one `before → after` line per changed field. */
export function describeSetup(result: NumberSetupResult): string {
  if (!result.lookedUp) {
    return [
      `${result.phoneNumber} (not looked up: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set)`,
      ...result.changes.map(({ field, after }) => `  ${field}: → ${after}`),
      "dry run: nothing was changed",
    ].join("\n");
  }
  const lines = [`${result.phoneNumber} (${result.sid})`];
  for (const { field, before, after } of result.changes) {
    lines.push(`  ${field}: ${before || "(none)"} → ${after}`);
  }
  if (result.changes.length === 0) lines.push("  already set up: nothing to change");
  else if (!result.applied) lines.push("dry run: nothing was changed");
  else lines.push("updated");
  return lines.join("\n");
}

/**
 * The agent must exist (a folder, or created from the pages) and be enabled, as the service sees
 * it now; answering over SIP (pinned, or the running version's own mode) needs the project.
 */
async function agentProblems(
  { config, kv }: Pick<NumberSetupDeps, "config" | "kv">,
  { agent, mode }: Pick<NumberSetupOptions, "agent" | "mode">,
): Promise<string[]> {
  const dir = config.agentsDir;
  let profiles: ProfileStore;
  try {
    profiles = new ProfileStore(await readProfileFolders(dir), { kv, dir });
  } catch (err) {
    if (err instanceof ProfileError) {
      return err.problems.map((p) => `AGENTS_DIR: ${p}`);
    }
    throw err;
  }
  if (!await profiles.knows(agent)) {
    await profiles.syncCreated();
    return [
      `--agent "${agent}" is not a profile in AGENTS_DIR ${dir} nor created from the pages ` +
      `(known: ${profiles.names().join(", ")})`,
    ];
  }
  const status = await profiles.status(agent);
  if (!status.profile) {
    return [
      `--agent "${agent}" is disabled by its profile's problems:`,
      ...status.problems.map((p) => `  ${p}`),
    ];
  }
  const sip = (mode ?? status.profile.mode ?? config.voiceMode) === "sip";
  if (!sip || config.openai.projectId) return [];
  return [
    `OPENAI_PROJECT_ID must be set for --agent "${agent}" to answer over SIP ` +
    `(the proj_… id its calls are dialled to)`,
  ];
}

/** Runs a REST request; Twilio's refusals become problems naming what to check. */
async function twilioRequest<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    if (typeof status !== "number") throw err;
    const hint = status === 401 ? ": check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" : "";
    throw new NumberSetupError([
      `Twilio answered HTTP ${status} (${(err as Error).message})${hint}`,
    ]);
  }
}
