/**
 * A created agent shared by two instances on one KV file: a save on one instance that meets the
 * agent's deletion on the other is refused (the edit would otherwise land on a deleted agent and
 * be reported saved), and the agent stays deleted; whether the deletion came before the save
 * read the agent (a stale page) or between that read and the save's commit (a race).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createAgent, deleteAgent } from "../lib/agents/agent_changes.ts";
import { readProfileFolders } from "../lib/agents/profile_folders.ts";
import { type ProfileFiles, ProfileStore } from "../lib/agents/profile_store.ts";
import { Logger } from "../lib/platform/log.ts";

const AGENTS_DIR = fileURLToPath(new URL("../assets/agents", import.meta.url));

/** What {@link withTwoInstances}' test gets: instance A (which deletes) and B (which saves). */
interface TwoInstances {
  a: ProfileStore;
  kvA: Deno.Kv;
  /** Builds instance B, on its own connection to the KV file (or a wrapper of it). */
  instanceB(wrap?: (kv: Deno.Kv) => Deno.Kv): ProfileStore;
  /** Deletes the agent on instance A. */
  deleteOnA(): Promise<unknown>;
}

/** Runs `test` with created agent "racer" in a KV file that two instances open. */
async function withTwoInstances(test: (t: TwoInstances) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "created_agent_race_" });
  const kvA = await Deno.openKv(`${dir}/callbridge.kv`);
  const kvB = await Deno.openKv(`${dir}/callbridge.kv`);
  try {
    const folders = await readProfileFolders(AGENTS_DIR);
    const a = new ProfileStore(folders, { kv: kvA, dir: AGENTS_DIR });
    const log = new Logger("error", {}, () => {});
    const deps = { kv: kvA, twilio: null, log, agentsDir: AGENTS_DIR };
    assert.ok((await createAgent({ ...deps, profiles: a }, "racer", { template: "relay" })).ok);
    await test({
      a,
      kvA,
      instanceB: (wrap = (kv) => kv) =>
        new ProfileStore(folders, { kv: wrap(kvB), dir: AGENTS_DIR }),
      deleteOnA: () => deleteAgent({ ...deps, profiles: a }, "racer"),
    });
  } finally {
    kvA.close();
    kvB.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Deleted for both instances, the tombstone (version 2) the newest version. */
async function assertDeleted(t: TwoInstances, b: ProfileStore): Promise<void> {
  assert.equal(await t.a.knows("racer"), false);
  assert.equal(await b.knows("racer"), false);
  const head = (await t.kvA.get<number>(["agent_profile_head", "racer"])).value;
  assert.equal(head, 2, "a version was saved after the tombstone");
}

/** B's files of "racer", edited. */
async function editedOn(b: ProfileStore): Promise<ProfileFiles> {
  const current = await b.files("racer");
  assert.ok(current, "B does not see the created agent");
  return { ...current.files, instructions: "An edit made meanwhile." };
}

Deno.test("a save on a page read before the agent's deletion on another instance is refused", async () => {
  await withTwoInstances(async (t) => {
    const b = t.instanceB();
    // B's save handler has found the agent and read its files ...
    const files = await editedOn(b);
    // ... when A deletes it.
    assert.deepEqual(await t.deleteOnA(), { ok: true, version: 2 });
    assert.deepEqual(await b.save("racer", files), {
      ok: false,
      problems: ['there is no agent "racer"'],
    });
    await assertDeleted(t, b);
  });
});

Deno.test("a deletion between a save's read and its commit: the head check refuses the save", async () => {
  await withTwoInstances(async (t) => {
    // B's first commit is held until A has deleted the agent: the save has read the agent
    // (there, at version 1) and its commit lands on the deleted one.
    let deleted: unknown = null;
    const b = t.instanceB((kv) =>
      new Proxy(kv, {
        get(target, name) {
          if (name === "atomic") {
            return () => {
              const op = target.atomic();
              if (deleted) return op;
              const commit = op.commit.bind(op);
              op.commit = async () => {
                deleted = await t.deleteOnA();
                return await commit();
              };
              return op;
            };
          }
          const value = Reflect.get(target, name);
          return typeof value === "function" ? value.bind(target) : value;
        },
      })
    );
    const files = await editedOn(b);
    assert.deepEqual(await b.save("racer", files), {
      ok: false,
      problems: ['there is no agent "racer"'],
    });
    assert.deepEqual(deleted, { ok: true, version: 2 }, "the deletion did not land in the save");
    await assertDeleted(t, b);
  });
});
