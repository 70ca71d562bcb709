/**
 * `deno task dev` as a developer uses it, with the task's own flags from deno.json, in a copy of
 * the project: editing an agent's file under `assets/agents/` or `.env` restarts the service,
 * and the restarted service serves the edited files (its agents come from the files at start-up);
 * a profile broken meanwhile disables only its agent, and fixing it restarts the service again.
 */

import assert from "node:assert/strict";
import { PROJECT_DIR, startMain, taskFlags } from "./helpers/main_process.ts";

/** What `main.ts` needs to run, copied into a temporary folder. */
const PROJECT_FILES = [
  "deno.json",
  "deno.lock",
  "main.ts",
  "app.ts",
  "lib",
  "routes",
  "components",
  "islands",
  "static",
  "assets",
];

/** A copy of the project to edit; removed by the caller. */
async function projectCopy(): Promise<string> {
  const dir = `${await Deno.makeTempDir({ prefix: "callbridge-dev-" })}/`;
  const copy = await new Deno.Command("cp", {
    args: ["-R", ...PROJECT_FILES.map((f) => `${PROJECT_DIR}${f}`), dir],
  }).output();
  assert.equal(copy.code, 0, new TextDecoder().decode(copy.stderr));
  return dir;
}

Deno.test("task dev restarts on an agent file or .env change and serves the new files", async () => {
  const dir = await projectCopy();
  await Deno.writeTextFile(`${dir}.env`, "WELCOME_GREETING=Hello from the first env file.\n");
  const main = await startMain({}, { flags: await taskFlags("dev"), projectDir: dir });
  try {
    const page = async (path: string) => await (await fetch(`${main.url}${path}`)).text();
    assert.match(await page("/config"), /Hello from the first env file\./);
    assert.doesNotMatch(await page("/agents/default"), /Always mention the lighthouse/);

    // An agent's file: a restart, and the page shows the edited instructions.
    const restarts = () => main.lines.filter((l) => l.event === "server.listening").length;
    const before = restarts();
    const instructions = `${dir}assets/agents/default/instructions.md`;
    await Deno.writeTextFile(
      instructions,
      `${await Deno.readTextFile(instructions)}\nAlways mention the lighthouse.\n`,
    );
    await main.logged("server.listening", { where: () => restarts() > before });
    assert.match(await page("/agents/default"), /Always mention the lighthouse/);

    // .env: a restart, and the new value is the one in force.
    const again = restarts();
    await Deno.writeTextFile(`${dir}.env`, "WELCOME_GREETING=Hello from the edited env file.\n");
    await main.logged("server.listening", { where: () => restarts() > again });
    const config = await page("/config");
    assert.match(config, /Hello from the edited env file\./);
    assert.doesNotMatch(config, /Hello from the first env file\./);

    // A profile broken while the service runs: it restarts with that agent disabled (the others
    // answer), and fixing the file restarts it again with the agent back.
    const agentJson = `${dir}assets/agents/appointments/agent.json`;
    const good = await Deno.readTextFile(agentJson);
    const broken = restarts();
    await Deno.writeTextFile(agentJson, good.replace(/\}\s*$/, ",}"));
    await main.logged("server.listening", { where: () => restarts() > broken });
    const disabled = await page("/agents");
    assert.match(disabled, /data-agent="appointments" data-disabled="true"/);
    assert.match(disabled, /data-agent="default" data-disabled="false"/);
    assert.match(await page("/agents/appointments"), /is not valid JSON at line \d+, column \d+/);
    const fixed = restarts();
    await Deno.writeTextFile(agentJson, good);
    await main.logged("server.listening", { where: () => restarts() > fixed });
    assert.match(await page("/agents"), /data-agent="appointments" data-disabled="false"/);
  } finally {
    await main.close();
    await Deno.remove(dir, { recursive: true });
  }
});
