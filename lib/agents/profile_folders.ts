/**
 * Reading the agents folder: every profile folder under `AGENTS_DIR`, each with its profile or,
 * when it has problems, those problems — a bad profile disables its agent, not the service.
 * Read once at start-up (`lib/services.ts`), so a restart reads the files again.
 *
 * @module
 */

import {
  type AgentProfile,
  checkProfile,
  type FolderSource,
  type LoadedProfile,
  ProfileError,
  type ProfileSource,
} from "./agent_profile.ts";

/** One folder under the agents directory: its files, and its profile or why it is disabled. */
export interface ProfileFolder {
  /** The files as read (a missing agent.json or instructions.md is empty here). */
  source: ProfileSource;
  /** null: the profile is disabled, for {@link problems}. */
  profile: AgentProfile | null;
  problems: string[];
}

/** Reads and validates every profile under `dir`; there must be a `default` one. */
export async function loadProfiles(dir: string): Promise<Map<string, AgentProfile>> {
  const loaded = await loadProfileFiles(dir);
  return new Map([...loaded].map(([name, { profile }]) => [name, profile]));
}

/** {@link loadProfiles}, keeping each profile's files too; throws if any profile is bad. */
export async function loadProfileFiles(dir: string): Promise<Map<string, LoadedProfile>> {
  const folders = await readProfileFolders(dir);
  const problems = [...folders.values()].flatMap((f) => f.problems);
  if (problems.length > 0) throw new ProfileError(problems);
  return new Map(
    [...folders].map(([name, f]) => [name, { source: f.source, profile: f.profile! }]),
  );
}

/**
 * Reads every profile folder under `dir`, each with its profile or its problems: a bad profile is
 * disabled, not fatal. Called at start-up, so a restart reads the files again. Throws
 * {@link ProfileError} only when the folder cannot be read or has no `default` folder (what calls
 * for an unknown agent get).
 */
export async function readProfileFolders(dir: string): Promise<Map<string, ProfileFolder>> {
  const folders = new Map<string, ProfileFolder>();
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
    const source: FolderSource = {
      name: entry.name,
      agentJson: await read("agent.json"),
      instructions: await read("instructions.md"),
      toolsJson: await read("tools.json"),
    };
    const { profile, problems } = checkProfile(source, dir);
    folders.set(entry.name, {
      source: {
        ...source,
        agentJson: source.agentJson ?? "",
        instructions: source.instructions ?? "",
      },
      profile,
      problems,
    });
  }
  if (!folders.has("default")) {
    throw new ProfileError([`${dir}/default: a "default" profile is required`]);
  }
  return folders;
}
