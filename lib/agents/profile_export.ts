/**
 * A version of a profile as files ready to commit: one zip (built with `fflate`) holding the
 * agent's folder, `<name>/agent.json`, `<name>/instructions.md` and `<name>/tools.json`, byte for
 * byte as saved. One download rather than three: browsers hold back several downloads from one
 * click, and unzipped in `assets/agents/` the folder lands where the service reads it.
 *
 * @module
 */

import { strToU8, unzipSync, zipSync } from "fflate";
import type { ProfileFiles } from "./profile_store.ts";

/** The zip of `files` in a folder `name/`; a version without tools.json has none in the zip. */
export function exportZip(name: string, files: ProfileFiles): Uint8Array {
  const entries: Record<string, Uint8Array> = {
    [`${name}/agent.json`]: strToU8(files.agentJson),
    [`${name}/instructions.md`]: strToU8(files.instructions),
  };
  if (files.toolsJson !== null) entries[`${name}/tools.json`] = strToU8(files.toolsJson);
  // A fixed date: the same version always gives the same bytes.
  return zipSync(entries, { mtime: new Date("2000-01-01T00:00:00Z") });
}

/** The files of a zip made by {@link exportZip}, by path (for tests and tools). */
export function readZip(zip: Uint8Array): Record<string, string> {
  const decoder = new TextDecoder();
  return Object.fromEntries(
    Object.entries(unzipSync(zip)).map(([path, bytes]) => [path, decoder.decode(bytes)]),
  );
}
