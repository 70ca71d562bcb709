/**
 * The agent profiles this process serves: the shipped files under `AGENTS_DIR`, overlaid by the
 * versions saved from the admin pages. Saved versions live in Deno KV, so whichever instance
 * takes the next call reads the edit ({@link ProfileStore.load}); every save is a new version and
 * earlier ones stay, so any of them (or the shipped files) can be restored.
 *
 * KV keys:
 * - `["agent_profile", name, version]` → {@link ProfileVersion}, never overwritten
 * - `["agent_profile_head", name]` → the newest version number (checked on save)
 *
 * @module
 */

import {
  type AgentProfile,
  type LoadedProfile,
  parseProfile,
  ProfileError,
  type ProfileSource,
} from "./agent_profile.ts";
import { errorMessage, type Logger } from "../platform/log.ts";

/** The files of a profile without its name. */
export type ProfileFiles = Omit<ProfileSource, "name">;

/** One saved version of a profile. */
export interface ProfileVersion extends ProfileFiles {
  version: number;
  savedAt: number;
  /** The version this one restored (0 = the shipped files), or null for an edit. */
  restoredFrom: number | null;
}

/** What a save did: the new version, or every problem found (nothing was saved). */
export type SaveResult = { ok: true; version: number } | { ok: false; problems: string[] };

/** Options of {@link ProfileStore}. */
export interface ProfileStoreOptions {
  /** Where edits are kept; without it profiles are read-only (the shipped files). */
  kv?: Deno.Kv | null;
  /** The agents folder, for problem messages. */
  dir?: string;
  log?: Logger;
}

/** Version number of the shipped files. */
export const SHIPPED_VERSION = 0;
/** A saved version must fit one KV value (64 KiB) with room to spare. */
const MAX_VERSION_BYTES = 60_000;
const VERSIONS = "agent_profile";
const HEAD = "agent_profile_head";

/** Profiles by name: shipped files overlaid by the newest saved version of each. */
export class ProfileStore {
  readonly #shipped: ReadonlyMap<string, LoadedProfile>;
  /** The newest version this process has seen of each profile. */
  readonly #current = new Map<string, { version: number; profile: AgentProfile }>();
  readonly #kv: Deno.Kv | null;
  readonly #dir: string;
  readonly #log: Logger | null;

  constructor(shipped: ReadonlyMap<string, LoadedProfile>, options: ProfileStoreOptions = {}) {
    this.#shipped = shipped;
    this.#kv = options.kv ?? null;
    this.#dir = options.dir ?? "assets/agents";
    this.#log = options.log ?? null;
    for (const [name, { profile }] of shipped) {
      this.#current.set(name, { version: SHIPPED_VERSION, profile });
    }
  }

  /** The named profile as last loaded, or null. */
  get(name: string): AgentProfile | null {
    return this.#current.get(name)?.profile ?? null;
  }

  has(name: string): boolean {
    return this.#shipped.has(name);
  }

  names(): string[] {
    return [...this.#shipped.keys()];
  }

  /**
   * The named profile (`default` when the name is empty or unknown) as last loaded: sync, for
   * the TwiML webhooks, which {@link load} the agent just before.
   */
  resolve(name: string | undefined | null): AgentProfile {
    return this.get(this.#known(name))!;
  }

  /** The newest version of the named profile (else `default`), read from KV now. */
  async load(name: string | undefined | null): Promise<AgentProfile> {
    const known = this.#known(name);
    const cached = this.#current.get(known)!;
    if (!this.#kv) return cached.profile;
    const head = (await this.#kv.get<number>([HEAD, known])).value ?? SHIPPED_VERSION;
    if (head === cached.version) return cached.profile;
    const saved = head === SHIPPED_VERSION ? null : await this.#version(known, head);
    let profile = this.#shipped.get(known)!.profile;
    if (saved) {
      try {
        profile = parseProfile({ name: known, ...saved }, this.#dir);
      } catch (err) {
        // Saved versions were valid when saved; a stricter validator must not break calls.
        this.#log?.error("profile.invalid_version", {
          agent: known,
          version: head,
          error: errorMessage(err),
        });
      }
    }
    this.#current.set(known, { version: head, profile });
    return profile;
  }

  /** Loads the newest version of every profile (start-up, so the sync cache is current). */
  async refresh(): Promise<void> {
    await Promise.all(this.names().map((name) => this.load(name)));
  }

  /** The shipped files of a profile, or null. */
  shipped(name: string): ProfileSource | null {
    return this.#shipped.get(name)?.source ?? null;
  }

  /** The files of the newest version (the shipped ones when never edited) and its number. */
  async files(name: string): Promise<{ version: number; files: ProfileFiles } | null> {
    const shipped = this.shipped(name);
    if (!shipped) return null;
    const [newest] = await this.versions(name, 1);
    if (newest) return { version: newest.version, files: filesOf(newest) };
    return { version: SHIPPED_VERSION, files: filesOf(shipped) };
  }

  /** Saved versions of a profile, newest first. */
  async versions(name: string, limit = 100): Promise<ProfileVersion[]> {
    if (!this.#kv || !this.#shipped.has(name)) return [];
    const out: ProfileVersion[] = [];
    const entries = this.#kv.list<ProfileVersion>({ prefix: [VERSIONS, name] }, {
      reverse: true,
      limit,
    });
    for await (const entry of entries) out.push(entry.value);
    return out;
  }

  /** One version's files (0 = the shipped files), or null. */
  async versionFiles(name: string, version: number): Promise<ProfileFiles | null> {
    if (!this.#shipped.has(name) || !Number.isSafeInteger(version) || version < 0) return null;
    if (version === SHIPPED_VERSION) {
      const shipped = this.shipped(name);
      return shipped ? filesOf(shipped) : null;
    }
    const saved = await this.#version(name, version);
    return saved ? filesOf(saved) : null;
  }

  /** Validates and saves `files` as the profile's next version. */
  async save(
    name: string,
    files: ProfileFiles,
    options: { restoredFrom?: number } = {},
  ): Promise<SaveResult> {
    const kv = this.#kv;
    if (!this.has(name)) return { ok: false, problems: [`there is no agent "${name}"`] };
    if (!kv) return { ok: false, problems: ["profiles are read-only: Deno KV is not available"] };
    let profile: AgentProfile;
    try {
      profile = parseProfile({ name, ...files }, this.#dir);
    } catch (err) {
      if (err instanceof ProfileError) return { ok: false, problems: err.problems };
      throw err;
    }
    const draft: ProfileVersion = {
      version: 0,
      savedAt: Date.now(),
      restoredFrom: options.restoredFrom ?? null,
      ...filesOf(files),
    };
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
      const head = await kv.get<number>([HEAD, name]);
      const version = (head.value ?? SHIPPED_VERSION) + 1;
      const result = await kv.atomic()
        .check(head)
        .set([HEAD, name], version)
        .set([VERSIONS, name, version], { ...draft, version })
        .commit();
      if (!result.ok) continue; // another save took this number: take the next
      this.#current.set(name, { version, profile });
      this.#log?.info("profile.saved", { agent: name, version, restoredFrom: draft.restoredFrom });
      return { ok: true, version };
    }
  }

  /** Saves an earlier version (0 = the shipped files) again as the newest one. */
  async restore(name: string, version: number): Promise<SaveResult> {
    const files = await this.versionFiles(name, version);
    if (!files) return { ok: false, problems: [`agent "${name}" has no version ${version}`] };
    return await this.save(name, files, { restoredFrom: version });
  }

  async #version(name: string, version: number): Promise<ProfileVersion | null> {
    return (await this.#kv!.get<ProfileVersion>([VERSIONS, name, version])).value;
  }

  #known(name: string | undefined | null): string {
    return name && this.#shipped.has(name) ? name : "default";
  }
}

function filesOf(source: ProfileFiles): ProfileFiles {
  return {
    agentJson: source.agentJson,
    instructions: source.instructions,
    toolsJson: source.toolsJson,
  };
}
