/**
 * Creating and deleting agents from the admin pages. A new agent starts from a template or a copy
 * of another agent's running files, and is one KV entry plus its first version, so every instance
 * knows it from its next call. Deleting is refused for a shipped agent (it can follow its files
 * again instead) and while the agent is in use: a Twilio number's voice webhook names it, or an
 * outbound call placed with it has not ended. A delete is itself a version (a tombstone).
 *
 * @module
 */

import { parseProfile, ProfileError } from "./agent_profile.ts";
import { AGENT_TEMPLATES, agentNameProblem } from "./agent_templates.ts";
import {
  type CreatedAgent,
  PROFILE_KEYS,
  type ProfileStore,
  type ProfileVersion,
  type SaveResult,
} from "./profile_store.ts";
import { errorMessage, type Logger, maskPhone } from "../platform/log.ts";
import type { TwilioApi } from "../platform/twilio_api.ts";
import { OUTBOUND_TTL_MS, type OutboundCall } from "../records/outbound_store.ts";
import { getCallStatus } from "../records/call_status.ts";
import { FINAL_STATUSES } from "../records/unanswered_calls.ts";
import type { CallStore } from "../records/call_store.ts";

/** What a new agent starts from. */
export type AgentStart = { template: string } | { copy: string };

/** What creating and deleting agents use. */
export interface AgentChangeDeps {
  profiles: ProfileStore;
  kv: Deno.Kv;
  /** null without Twilio credentials: no number can name the agent then. */
  twilio: Pick<TwilioApi, "client"> | null;
  log: Logger;
  agentsDir: string;
  /** Call records: an outbound call whose record has ended no longer uses its agent. */
  records?: Pick<CallStore, "findBySid">;
}

/** Creates agent `name` from `start`: its entry and first version, in one atomic write. */
export async function createAgent(
  deps: AgentChangeDeps,
  name: string,
  start: AgentStart,
): Promise<SaveResult> {
  const { profiles, kv } = deps;
  const fail = (problem: string): SaveResult => ({ ok: false, problems: [problem] });
  const nameProblem = agentNameProblem(name);
  if (nameProblem) return fail(nameProblem);
  if (await profiles.knows(name)) return fail(`there is already an agent "${name}"`);
  let files;
  let from: string;
  if ("template" in start) {
    files = AGENT_TEMPLATES.find((t) => t.id === start.template)?.files;
    if (!files) return fail(`there is no template "${start.template}"`);
    from = `template:${start.template}`;
  } else {
    files = (await profiles.files(start.copy))?.files;
    if (!files) return fail(`there is no agent "${start.copy}" to copy`);
    from = `copy:${start.copy}`;
  }
  try {
    parseProfile({ name, ...files }, deps.agentsDir);
  } catch (err) {
    if (err instanceof ProfileError) return { ok: false, problems: err.problems };
    throw err;
  }
  for (;;) {
    const [head, created] = await kv.getMany<[number, CreatedAgent]>([
      [PROFILE_KEYS.head, name],
      [PROFILE_KEYS.created, name],
    ]);
    if (created.value) return fail(`there is already an agent "${name}"`);
    // A name deleted before goes on from its last version.
    const version = (head.value ?? 0) + 1;
    const now = Date.now();
    const saved: ProfileVersion = {
      version,
      savedAt: now,
      restoredFrom: null,
      createdFrom: from,
      agentJson: files.agentJson,
      instructions: files.instructions,
      toolsJson: files.toolsJson,
    };
    const entry: CreatedAgent = { name, createdAt: now, from };
    const result = await kv.atomic().check(head).check(created)
      .set([PROFILE_KEYS.created, name], entry)
      .set([PROFILE_KEYS.head, name], version)
      .set([PROFILE_KEYS.versions, name, version], saved)
      .commit();
    if (!result.ok) continue;
    await profiles.knows(name);
    deps.log.info("profile.created", { agent: name, version, from });
    return { ok: true, version };
  }
}

/** Deletes created agent `name` unless it ships with files or is in use. */
export async function deleteAgent(deps: AgentChangeDeps, name: string): Promise<SaveResult> {
  const { profiles, kv } = deps;
  if (profiles.isShipped(name)) {
    return {
      ok: false,
      problems: [
        `agent "${name}" ships with the service and cannot be deleted: "Follow the files" ` +
        "resets it to them",
      ],
    };
  }
  if (!(await profiles.knows(name))) {
    return { ok: false, problems: [`there is no agent "${name}"`] };
  }
  const uses = await agentUses(deps, name);
  if (uses.length) {
    return { ok: false, problems: [`agent "${name}" is in use, so it was not deleted:`, ...uses] };
  }
  for (;;) {
    const [head, created] = await kv.getMany<[number, CreatedAgent]>([
      [PROFILE_KEYS.head, name],
      [PROFILE_KEYS.created, name],
    ]);
    if (!created.value || head.value === null) break; // deleted meanwhile
    const last = (await kv.get<ProfileVersion>([PROFILE_KEYS.versions, name, head.value])).value;
    const version = head.value + 1;
    const tombstone: ProfileVersion = {
      version,
      savedAt: Date.now(),
      restoredFrom: null,
      deleted: true,
      agentJson: last?.agentJson ?? "",
      instructions: last?.instructions ?? "",
      toolsJson: last?.toolsJson ?? null,
    };
    const result = await kv.atomic().check(head).check(created)
      .delete([PROFILE_KEYS.created, name])
      .set([PROFILE_KEYS.head, name], version)
      .set([PROFILE_KEYS.versions, name, version], tombstone)
      .commit();
    if (!result.ok) continue;
    await profiles.knows(name);
    deps.log.info("profile.deleted", { agent: name, version });
    return { ok: true, version };
  }
  await profiles.knows(name);
  return { ok: false, problems: [`there is no agent "${name}"`] };
}

/**
 * What uses agent `name` now, one line each: numbers whose voice webhook names it (from Twilio;
 * a failed look-up counts as a use, so nothing in use is deleted blind), and outbound calls placed
 * with it that have not ended.
 */
export async function agentUses(
  deps: Pick<AgentChangeDeps, "kv" | "twilio" | "records">,
  name: string,
): Promise<string[]> {
  const uses: string[] = [];
  if (deps.twilio) {
    try {
      const numbers = await deps.twilio.client.incomingPhoneNumbers.list({ limit: 1000 });
      for (const n of numbers) {
        const url = URL.parse(n.voiceUrl ?? "");
        if (url?.searchParams.get("agent") === name) {
          uses.push(`the number ${n.phoneNumber} (its voice webhook names it)`);
        }
      }
    } catch (err) {
      uses.push(`the Twilio numbers could not be checked (${errorMessage(err).slice(0, 120)})`);
    }
  }
  const since = Date.now() - OUTBOUND_TTL_MS;
  for await (const entry of deps.kv.list<OutboundCall>({ prefix: ["outbound"] })) {
    const call = entry.value;
    if (call.agent !== name || call.createdAt < since) continue;
    const status = call.callSid ? await getCallStatus(deps.kv, call.callSid) : null;
    if (status && FINAL_STATUSES.includes(status.status)) continue;
    const records = call.callSid && deps.records ? await deps.records.findBySid(call.callSid) : [];
    if (records.some((r) => r.endedAt !== null)) continue;
    uses.push(`an outbound call to ${maskPhone(call.to)} (${status?.status ?? "being placed"})`);
  }
  return uses;
}
