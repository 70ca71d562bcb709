/**
 * The benchmarks' agents folder stays loadable as the shipped agents change: the default agent
 * copied, with its silence reminder off and nothing else changed.
 */

import assert from "node:assert/strict";
import { loadProfiles } from "../lib/agents/profile_folders.ts";
import { quietAgentsDir } from "./realtime_load.ts";

Deno.test("quietAgentsDir: the shipped default agent, loadable, without its silence reminder", async () => {
  const dir = await quietAgentsDir();
  try {
    const profiles = await loadProfiles(dir);
    assert.deepEqual([...profiles.keys()], ["default"]);
    const shipped = (await loadProfiles(new URL("../assets/agents", import.meta.url).pathname))
      .get("default")!;
    const quiet = profiles.get("default")!;
    assert.equal(quiet.silence.reminderAfterSeconds, 0);
    assert.notEqual(shipped.silence.reminderAfterSeconds, 0);
    assert.equal(quiet.instructions, shipped.instructions);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
