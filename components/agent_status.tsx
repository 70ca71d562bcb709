/**
 * What an agent runs, for the agent pages (server-only): the files or an edit saved at a given
 * time, whether it is disabled and why, template warnings, a warning when the files changed
 * under an edit, the "follow the files" button and line differences between two versions.
 *
 * @module
 */

import type { FileDiff } from "../lib/agents/profile_diff.ts";
import type { ProfileStatus } from "../lib/agents/profile_store.ts";
import { formatTime } from "./format.ts";

/**
 * What "the files" are when several instances run: each reads its own `AGENTS_DIR` at start-up,
 * and KV (shared) says only whether an agent follows them.
 */
export const FILES_NOTE = "The files are each instance's own copy of AGENTS_DIR, read at its " +
  "start-up: following them is stored in KV for every instance, and each then runs the files it " +
  "has (the same ones when all instances run the same deployment; a changed file applies on an " +
  "instance once it restarts).";

/** One line saying which source the agent runs, and since when. */
export function AgentSource({ status, dir }: { status: ProfileStatus; dir: string }) {
  const text = status.source === "files"
    ? `Runs the files (${dir}, as this instance read them at start-up)${
      status.savedAt === null ? "" : `, followed since v${status.version}`
    }.`
    : `Runs an edit: v${status.version}, saved ${formatTime(status.savedAt)} UTC. ` +
      "Changes to the files are ignored until the agent follows the files again.";
  return <p class="source" data-source={status.source} data-version={status.version}>{text}</p>;
}

/** Why the agent is disabled (or why a saved version could not run), each problem in a line. */
export function AgentProblems({ status }: { status: ProfileStatus }) {
  if (!status.problems.length) return null;
  return (
    <section class="problems" data-disabled={status.profile ? undefined : "true"}>
      <strong>
        {status.profile
          ? "Problems:"
          : "Disabled: callers hear a short apology until these problems are fixed:"}
      </strong>
      {status.problems.map((p) => <p key={p} class="problem">{p}</p>)}
    </section>
  );
}

/** Warnings that do not stop the agent (template names that render as nothing). */
export function AgentWarnings({ warnings }: { warnings: string[] }) {
  if (!warnings.length) return null;
  return (
    <section class="warning" data-warnings={String(warnings.length)}>
      <strong>Warnings:</strong>
      {warnings.map((w) => <p key={w} class="warn">{w}</p>)}
    </section>
  );
}

/** A form that makes agent `name` follow the files again (a new version). */
export function FollowButton({ name }: { name: string }) {
  return (
    <form method="post" action={`/agents/${name}/follow`}>
      <button type="submit" class="secondary" data-action="follow">Follow the files</button>
    </form>
  );
}

/** The files' line differences, one block per file; unchanged files say so. */
export function DiffView({ diffs }: { diffs: FileDiff[] }) {
  return (
    <div class="diff">
      {diffs.map((d) => (
        <div key={d.file} data-file={d.file} data-changed={String(d.changed)}>
          <h3>{d.file}</h3>
          {d.changed
            ? (
              <pre>{d.parts.map((part, i) => (
                <span key={i} class={part.kind}>
                  {part.text.replace(/\n$/, "").split("\n").map((line) =>
                    `${part.kind === "add" ? "+" : part.kind === "del" ? "-" : " "} ${line}`
                  ).join("\n")}
                </span>
              ))}</pre>
            )
            : <p class="muted">No change.</p>}
        </div>
      ))}
    </div>
  );
}
