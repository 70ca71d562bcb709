import assert from "node:assert/strict";
import { parseProfile } from "./agent_profile.ts";
import { AGENT_TEMPLATES, agentNameProblem } from "./agent_templates.ts";

Deno.test("every agent template is a valid profile, one per call path", () => {
  const modes = AGENT_TEMPLATES.map((t) => parseProfile({ name: "new-agent", ...t.files }).mode);
  assert.deepEqual(modes, ["relay", "realtime"]);
});

Deno.test("new agents' names follow the folder rule", () => {
  for (const good of ["front-desk", "sales_2", "a", "9lives", "x".repeat(63)]) {
    assert.equal(agentNameProblem(good), null, good);
  }
  for (const bad of ["", "Front", "-lead", "a b", "x".repeat(64), "ünï", "../etc"]) {
    assert.match(agentNameProblem(bad)!, /lower-case letters, digits/, bad);
  }
});
