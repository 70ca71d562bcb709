/**
 * A created agent shared by two instances on one KV file: a save on one instance that meets the
 * agent's deletion on the other is refused (the edit would otherwise land on a deleted agent and
 * be reported saved), and the agent stays deleted.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createAgent, deleteAgent } from "../lib/agents/agent_changes.ts";
import { readProfileFolders } from "../lib/agents/profile_folders.ts";
import { ProfileStore } from "../lib/agents/profile_store.ts";
import { Logger } from "../lib/platform/log.ts";

const AGENTS_DIR = fileURLToPath(new URL("../assets/agents", import.meta.url));

Deno.test("a save racing the agent's deletion on another instance is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "created_agent_race_" });
  const kvA = await Deno.openKv(`${dir}/callbridge.kv`);
  const kvB = await Deno.openKv(`${dir}/callbridge.kv`);
  try {
    const folders = await readProfileFolders(AGENTS_DIR);
    const a = new ProfileStore(folders, { kv: kvA, dir: AGENTS_DIR });
    const b = new ProfileStore(folders, { kv: kvB, dir: AGENTS_DIR });
    const log = new Logger("error", {}, () => {});
    const deps = { kv: kvA, twilio: null, log, agentsDir: AGENTS_DIR };
    assert.ok((await createAgent({ ...deps, profiles: a }, "racer", { template: "relay" })).ok);
    // B's save handler has found the agent and read its files ...
    const current = await b.files("racer");
    assert.ok(current, "B does not see the created agent");
    // ... when A deletes it.
    assert.deepEqual(await deleteAgent({ ...deps, profiles: a }, "racer"), {
      ok: true,
      version: 2,
    });
    const files = { ...current.files, instructions: "An edit made meanwhile." };
    assert.deepEqual(await b.save("racer", files), {
      ok: false,
      problems: ['there is no agent "racer"'],
    });
    // Deleted for both, the tombstone the newest version.
    assert.equal(await a.knows("racer"), false);
    assert.equal(await b.knows("racer"), false);
    const head = (await kvA.get<number>(["agent_profile_head", "racer"])).value;
    assert.equal(head, 2, "a version was saved after the tombstone");
  } finally {
    kvA.close();
    kvB.close();
    await Deno.remove(dir, { recursive: true });
  }
});
