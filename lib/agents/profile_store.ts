/**
 * The agent profiles this process serves: either **the files** under `AGENTS_DIR` or **an edit**
 * saved from the admin pages. Saved versions live in Deno KV, so whichever instance takes the
 * next call reads the newest ({@link ProfileStore.load}); every save is a new version and earlier
 * ones stay, so any of them can be restored.
 *
 * Following the files is itself a version ({@link ProfileStore.follow}): from it on, each
 * instance runs its own copy of the files, read at its start-up — the same files when every
 * instance runs the same deployment. An edit records a fingerprint of the saving instance's
 * files, so a later change of the files is seen ({@link ProfileStore.status}) instead of being
 * silently ignored.
 *
 * Agents can also be **created** from the pages (from a template or a copy): such an agent has no
 * files, only versions, and is known to every instance through its KV entry; deleting it is one
 * more version (a tombstone) and the entry's removal. Shipped agents (those with files) cannot be
 * deleted, only made to follow their files again.
 *
 * KV keys:
 * - `["agent_profile", name, version]` → {@link ProfileVersion}, never overwritten
 * - `["agent_profile_head", name]` → the newest version number (checked on save)
 * - `["agent_created", name]` → {@link CreatedAgent}, while a created agent exists
 *
 * @module
 */

import {
  type AgentProfile,
  parseProfile,
  ProfileError,
  type ProfileSource,
} from "./agent_profile.ts";
import type { ProfileFolder } from "./profile_folders.ts";
import { AGENT_NAME } from "./agent_templates.ts";
import { errorMessage, type Logger } from "../platform/log.ts";

/** The files of a profile without its name. */
export type ProfileFiles = Omit<ProfileSource, "name">;

/** One saved version of a profile. */
export interface ProfileVersion extends ProfileFiles {
  version: number;
  savedAt: number;
  /** The version this one restored (0 = the files), or null for an edit. */
  restoredFrom: number | null;
  /**
   * true: this version follows the files (each instance's own); its files are only a record of
   * the saving instance's files at `savedAt`. Absent in versions saved before there was this.
   */
  followsFiles?: boolean;
  /** {@link filesFingerprint} of the saving instance's files at `savedAt`. */
  filesFingerprint?: string;
  /** A created agent's first version: what it started from (`template:relay`, `copy:sales`). */
  createdFrom?: string;
  /** The agent was deleted by this version (its files are the last ones it ran). */
  deleted?: boolean;
}

/** A created agent's entry (no files: only versions in KV). */
export interface CreatedAgent {
  name: string;
  createdAt: number;
  /** `template:<id>` or `copy:<agent>`. */
  from: string;
}

/** What a save did: the new version, or every problem found (nothing was saved). */
export type SaveResult = { ok: true; version: number } | { ok: false; problems: string[] };

/** What an agent runs now, as this instance sees it. */
export interface ProfileStatus {
  /** The version running (0 = the files, never edited). */
  version: number;
  /** `files`: this instance's files; `edit`: a version saved from the admin pages. */
  source: "files" | "edit";
  /** When the running version was saved; null for the files never edited. */
  savedAt: number | null;
  /** null: the agent is disabled, for {@link problems}. */
  profile: AgentProfile | null;
  /** Why the agent is disabled (or why a saved version could not be used). */
  problems: string[];
  /**
   * An edit runs and this instance's files are not those it was saved over: the files changed
   * since (or the edit predates fingerprints and differs from them). Always false for `files`.
   */
  filesChanged: boolean;
}

/** Options of {@link ProfileStore}. */
export interface ProfileStoreOptions {
  /** Where edits are kept; without it profiles are read-only (the files). */
  kv?: Deno.Kv | null;
  /** The agents folder, for problem messages. */
  dir?: string;
  log?: Logger;
}

/** Version number of the files never edited. */
export const SHIPPED_VERSION = 0;
/** A saved version must fit one KV value (64 KiB) with room to spare. */
const MAX_VERSION_BYTES = 60_000;
const VERSIONS = "agent_profile";
const HEAD = "agent_profile_head";
const CREATED = "agent_created";
/** The KV key prefixes above, for creating and deleting agents (`agent_changes.ts`). */
export const PROFILE_KEYS = { versions: VERSIONS, head: HEAD, created: CREATED } as const;

/** Profiles by name: this instance's files, or the version saved in KV that replaces them. */
export class ProfileStore {
  readonly #folders: ReadonlyMap<string, ProfileFolder>;
  /** What each agent ran when this process last looked. */
  readonly #current = new Map<string, ProfileStatus>();
  /** The created agents as this process last read them from KV. */
  readonly #created = new Map<string, CreatedAgent>();
  readonly #kv: Deno.Kv | null;
  readonly #dir: string;
  readonly #log: Logger | null;

  constructor(folders: ReadonlyMap<string, ProfileFolder>, options: ProfileStoreOptions = {}) {
    this.#folders = folders;
    this.#kv = options.kv ?? null;
    this.#dir = options.dir ?? "assets/agents";
    this.#log = options.log ?? null;
    for (const name of folders.keys()) this.#current.set(name, this.#filesStatus(name, 0, null));
  }

  /** The named profile as last loaded, or null (no such agent, or disabled). */
  get(name: string): AgentProfile | null {
    return this.#current.get(name)?.profile ?? null;
  }

  /**
   * Whether there is an agent of that name, as last seen: a folder, or a created agent (the agent
   * may still be disabled). {@link knows} asks KV.
   */
  has(name: string): boolean {
    return this.#folders.has(name) || this.#created.has(name);
  }

  /** Whether the agent ships with files (it can be reset to them, not deleted). */
  isShipped(name: string): boolean {
    return this.#folders.has(name);
  }

  /** Whether there is an agent of that name now: a folder, or a created agent in KV. */
  async knows(name: string | null | undefined): Promise<boolean> {
    if (!name) return false;
    if (this.#folders.has(name)) return true;
    if (!this.#kv || !AGENT_NAME.test(name)) return false;
    const entry = (await this.#kv.get<CreatedAgent>([CREATED, name])).value;
    if (entry) this.#created.set(name, entry);
    else this.#forget(name);
    return entry !== null;
  }

  /** The shipped agents, then the created ones (as last read: {@link syncCreated}). */
  names(): string[] {
    const created = [...this.#created.keys()].filter((n) => !this.#folders.has(n)).sort();
    return [...this.#folders.keys(), ...created];
  }

  /** Reads the created agents from KV now (pages listing agents call it first). */
  async syncCreated(): Promise<void> {
    if (!this.#kv) return;
    const seen = new Set<string>();
    for await (const entry of this.#kv.list<CreatedAgent>({ prefix: [CREATED] })) {
      this.#created.set(entry.value.name, entry.value);
      seen.add(entry.value.name);
    }
    for (const name of this.#created.keys()) if (!seen.has(name)) this.#forget(name);
  }

  /**
   * The named profile (`default` when the name is empty or unknown) as last loaded, or null when
   * it is disabled: sync, for the TwiML webhooks, which {@link load} the agent just before.
   */
  resolve(name: string | undefined | null): AgentProfile | null {
    return this.get(this.#known(name));
  }

  /** The newest version of the named profile (else `default`), read from KV now; null: disabled. */
  async load(name: string | undefined | null): Promise<AgentProfile | null> {
    return (await this.status(name)).profile;
  }

  /** What the named agent (else `default`) runs now, read from KV now. */
  async status(name: string | undefined | null): Promise<ProfileStatus> {
    // A created agent is looked up each time: it may have been created or deleted elsewhere.
    const known = name && !this.#folders.has(name) && await this.knows(name)
      ? name
      : this.#known(name);
    const cached = this.#current.get(known);
    if (!this.#kv) return cached!;
    const head = (await this.#kv.get<number>([HEAD, known])).value ?? SHIPPED_VERSION;
    if (cached && head === cached.version) return cached;
    const saved = head === SHIPPED_VERSION ? null : await this.#version(known, head);
    const status = saved && !saved.followsFiles
      ? this.#editStatus(known, saved)
      : this.#filesStatus(known, head, saved?.savedAt ?? null);
    this.#current.set(known, status);
    return status;
  }

  /** Loads the newest version of every profile (start-up, so the sync cache is current). */
  async refresh(): Promise<void> {
    await this.syncCreated();
    const names = this.names();
    const statuses = await Promise.all(names.map((name) => this.status(name)));
    statuses.forEach((status, i) => {
      if (!status.filesChanged) return;
      this.#log?.warn("profile.files_ignored", {
        agent: names[i],
        version: status.version,
        hint: "an edit runs; the agent page shows the difference and can follow the files",
      });
    });
  }

  /** This instance's files of a profile (as read at start-up), or null. */
  shipped(name: string): ProfileSource | null {
    return this.#folders.get(name)?.source ?? null;
  }

  /** The files of the running version (this instance's files when following them). */
  async files(name: string): Promise<{ version: number; files: ProfileFiles } | null> {
    const shipped = this.shipped(name);
    if (!shipped && !(await this.knows(name))) return null;
    const status = await this.status(name);
    if (!shipped) {
      const saved = await this.#version(name, status.version);
      return saved ? { version: status.version, files: filesOf(saved) } : null;
    }
    const saved = status.source === "edit" ? await this.#version(name, status.version) : null;
    return { version: status.version, files: filesOf(saved ?? shipped) };
  }

  /** Saved versions of a profile, newest first. */
  async versions(name: string, limit = 100): Promise<ProfileVersion[]> {
    if (!this.#kv || !this.has(name)) return [];
    const out: ProfileVersion[] = [];
    const entries = this.#kv.list<ProfileVersion>({ prefix: [VERSIONS, name] }, {
      reverse: true,
      limit,
    });
    for await (const entry of entries) out.push(entry.value);
    return out;
  }

  /**
   * One version's files, or null: 0 is this instance's files, as is a version that follows them
   * (what it runs); an edit is its saved files.
   */
  async versionFiles(name: string, version: number): Promise<ProfileFiles | null> {
    if (!this.has(name) || !Number.isSafeInteger(version) || version < 0) return null;
    const saved = version === SHIPPED_VERSION ? null : await this.#version(name, version);
    if (version !== SHIPPED_VERSION && !saved) return null;
    const shipped = this.shipped(name);
    if (saved && !saved.followsFiles) return filesOf(saved);
    return shipped ? filesOf(shipped) : null;
  }

  /** Validates and saves `files` as the profile's next version: an edit. */
  async save(
    name: string,
    files: ProfileFiles,
    options: { restoredFrom?: number } = {},
  ): Promise<SaveResult> {
    if (!this.has(name)) return { ok: false, problems: [`there is no agent "${name}"`] };
    try {
      parseProfile({ name, ...files }, this.#dir);
    } catch (err) {
      if (err instanceof ProfileError) return { ok: false, problems: err.problems };
      throw err;
    }
    return await this.#append(name, files, { restoredFrom: options.restoredFrom ?? null });
  }

  /**
   * Makes the agent follow the files again, as a new version: from the next call each instance
   * runs its own files, and later changes to them apply (after that instance restarts). Refused
   * while this instance's files have problems, so following cannot disable a working agent.
   */
  async follow(name: string): Promise<SaveResult> {
    const folder = this.#folders.get(name);
    if (!folder) {
      const problem = this.#created.has(name)
        ? `agent "${name}" was created here and has no files to follow`
        : `there is no agent "${name}"`;
      return { ok: false, problems: [problem] };
    }
    if (!folder.profile) return { ok: false, problems: folder.problems };
    return await this.#append(name, folder.source, { restoredFrom: 0, followsFiles: true });
  }

  /** Saves an earlier version again as the newest one; 0, or a version that followed, follows. */
  async restore(name: string, version: number): Promise<SaveResult> {
    const saved = version === SHIPPED_VERSION ? null : await this.#savedVersion(name, version);
    if (version !== SHIPPED_VERSION && !saved) {
      return { ok: false, problems: [`agent "${name}" has no version ${version}`] };
    }
    if (!saved || saved.followsFiles) return await this.follow(name);
    return await this.save(name, filesOf(saved), { restoredFrom: version });
  }

  async #append(
    name: string,
    files: ProfileFiles,
    marks: { restoredFrom: number | null; followsFiles?: boolean },
  ): Promise<SaveResult> {
    const kv = this.#kv;
    if (!kv) return { ok: false, problems: ["profiles are read-only: Deno KV is not available"] };
    const draft: ProfileVersion = {
      version: 0,
      savedAt: Date.now(),
      ...marks,
      ...filesOf(files),
    };
    const shipped = this.shipped(name);
    if (shipped) draft.filesFingerprint = filesFingerprint(shipped);
    if (!marks.followsFiles) delete draft.followsFiles;
    const bytes = new TextEncoder().encode(JSON.stringify(draft)).length;
    if (bytes > MAX_VERSION_BYTES) {
      return {
        ok: false,
        problems: [
          `${this.#dir}/${name}: the profile is too large to store (${
            Math.ceil(bytes / 1000)
          } KB; at most ${MAX_VERSION_BYTES / 1000} KB)`,
        ],
      };
    }
    for (;;) {
      // A created agent must still exist when the version lands (another instance may delete
      // it): the head check covers that, as creating and deleting each move the head too.
      const [head, created] = await kv.getMany<[number, CreatedAgent]>([
        [HEAD, name],
        [CREATED, name],
      ]);
      if (!shipped && !created.value) {
        this.#forget(name);
        return { ok: false, problems: [`there is no agent "${name}"`] };
      }
      const version = (head.value ?? SHIPPED_VERSION) + 1;
      const saved = { ...draft, version };
      const result = await kv.atomic()
        .check(head)
        .set([HEAD, name], version)
        .set([VERSIONS, name, version], saved)
        .commit();
      if (!result.ok) continue; // another save took this number: take the next
      this.#current.set(
        name,
        saved.followsFiles
          ? this.#filesStatus(name, version, saved.savedAt)
          : this.#editStatus(name, saved),
      );
      this.#log?.info("profile.saved", {
        agent: name,
        version,
        restoredFrom: draft.restoredFrom,
        followsFiles: saved.followsFiles ?? false,
      });
      return { ok: true, version };
    }
  }

  #filesStatus(name: string, version: number, savedAt: number | null): ProfileStatus {
    const folder = this.#folders.get(name);
    return {
      version,
      source: "files",
      savedAt,
      profile: folder?.profile ?? null,
      problems: folder?.problems ?? [`agent "${name}" has no files and no usable version`],
      filesChanged: false,
    };
  }

  #editStatus(name: string, saved: ProfileVersion): ProfileStatus {
    const shipped = this.shipped(name);
    const filesChanged = !shipped
      ? false
      : saved.filesFingerprint
      ? saved.filesFingerprint !== filesFingerprint(shipped)
      : filesFingerprint(saved) !== filesFingerprint(shipped);
    try {
      const profile = parseProfile({ name, ...filesOf(saved) }, this.#dir);
      return {
        ...this.#filesStatus(name, saved.version, saved.savedAt),
        source: "edit",
        profile,
        problems: [],
        filesChanged,
      };
    } catch (err) {
      // Saved versions were valid when saved; a stricter validator must not break calls: the
      // agent runs its files instead, and says why.
      this.#log?.error("profile.invalid_version", {
        agent: name,
        version: saved.version,
        error: errorMessage(err),
      });
      const problems = err instanceof ProfileError ? err.problems : [errorMessage(err)];
      const files = this.#filesStatus(name, saved.version, saved.savedAt);
      return {
        ...files,
        problems: [
          `version ${saved.version} no longer passes validation, so the files run instead:`,
          ...problems,
          ...files.problems,
        ],
      };
    }
  }

  async #savedVersion(name: string, version: number): Promise<ProfileVersion | null> {
    if (!this.#kv || !this.has(name) || !Number.isSafeInteger(version)) return null;
    return version > 0 ? await this.#version(name, version) : null;
  }

  async #version(name: string, version: number): Promise<ProfileVersion | null> {
    return (await this.#kv!.get<ProfileVersion>([VERSIONS, name, version])).value;
  }

  #known(name: string | undefined | null): string {
    return name && this.has(name) ? name : "default";
  }

  #forget(name: string): void {
    if (this.#folders.has(name)) return;
    this.#created.delete(name);
    this.#current.delete(name);
  }
}

/**
 * A short fingerprint of a profile's files (53-bit cyrb53, hex): equal files, equal prints. Not
 * for security: only to tell that the files changed since an edit was saved over them.
 */
export function filesFingerprint(files: ProfileFiles): string {
  const text = JSON.stringify([files.agentJson, files.instructions, files.toolsJson]);
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16);
}

function filesOf(source: ProfileFiles): ProfileFiles {
  return {
    agentJson: source.agentJson,
    instructions: source.instructions,
    toolsJson: source.toolsJson,
  };
}
