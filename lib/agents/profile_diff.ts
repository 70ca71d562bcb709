/**
 * Line differences between two versions of a profile, file by file (agent.json,
 * instructions.md, tools.json), with the `diff` library (jsdiff): for the agent page to show
 * what an edit changed, or how the running version and the files differ.
 *
 * @module
 */

import { diffLines } from "diff";
import type { ProfileFiles } from "./profile_store.ts";

/** One run of lines: in both versions, only in the second (`add`) or only in the first (`del`). */
export interface DiffPart {
  kind: "same" | "add" | "del";
  /** The lines, each ending with "\n" (the last one may not). */
  text: string;
}

/** The difference of one file. */
export interface FileDiff {
  file: "agent.json" | "instructions.md" | "tools.json";
  /** false: the file is the same in both versions. */
  changed: boolean;
  parts: DiffPart[];
}

/** The three files' differences from `from` to `to` (a missing tools.json is an empty file). */
export function profileDiff(from: ProfileFiles, to: ProfileFiles): FileDiff[] {
  const files = [
    ["agent.json", from.agentJson, to.agentJson],
    ["instructions.md", from.instructions, to.instructions],
    ["tools.json", from.toolsJson ?? "", to.toolsJson ?? ""],
  ] as const;
  return files.map(([file, a, b]) => {
    const parts: DiffPart[] = diffLines(a, b).map((change) => ({
      kind: change.added ? "add" : change.removed ? "del" : "same",
      text: change.value,
    }));
    return { file, changed: a !== b, parts };
  });
}

/** Whether two versions' files differ at all. */
export function filesDiffer(a: ProfileFiles, b: ProfileFiles): boolean {
  return a.agentJson !== b.agentJson || a.instructions !== b.instructions ||
    (a.toolsJson ?? "") !== (b.toolsJson ?? "");
}
