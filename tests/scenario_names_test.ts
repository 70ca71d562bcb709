/**
 * Scenario files are named by their file names, which may hold any character but `/`: the
 * scenarios page and the page a run streams show such a name as text, never as markup.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { relayHarness } from "./helpers/relay_harness.ts";

const SHIPPED = fileURLToPath(new URL("../assets/agents", import.meta.url));
/** A file name that is markup: it closes the attribute it is put in and opens an element. */
const ODD = `x" data-injected="1"><b data-injected-tag>boom`;

Deno.test("a scenario whose file name is markup runs, and the run's page shows it as text", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scenario_names_" });
  await Deno.mkdir(`${dir}/default/scenarios`, { recursive: true });
  for (const file of ["agent.json", "instructions.md", "tools.json"]) {
    await Deno.copyFile(`${SHIPPED}/default/${file}`, `${dir}/default/${file}`);
  }
  await Deno.copyFile(`${SHIPPED}/agent.schema.json`, `${dir}/agent.schema.json`);
  // The caller hangs up at once: no model is asked.
  await Deno.writeTextFile(
    `${dir}/default/scenarios/${ODD}.json`,
    JSON.stringify({
      caller: { turns: [{ hangUp: true }] },
      checks: [{ type: "ended", outcome: "caller-hangup" }],
    }),
  );
  const h = await relayHarness({ AGENTS_DIR: dir });
  try {
    const page = await (await fetch(`${h.svc.url}/agents/default/scenarios`)).text();
    assert.ok(page.includes("boom"), "the scenario is not listed");
    assert.doesNotMatch(page, /data-injected="1"|<b data-injected-tag>/);
    const res = await fetch(`${h.svc.url}/agents/default/scenarios/run`, {
      method: "POST",
      headers: { origin: h.svc.url, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ scenario: ODD }),
    });
    const run = await res.text();
    assert.equal(res.status, 200, run);
    assert.match(run, /<p id="run-done" data-passed="1" data-failed="0">/, run);
    assert.doesNotMatch(run, /data-injected="1"|<b data-injected-tag>/);
    assert.ok(run.includes("&lt;b data-injected-tag"), "the name is not shown as text");
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});
