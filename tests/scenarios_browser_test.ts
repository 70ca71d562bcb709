/**
 * The scenarios page in headless Chromium, against the real service with the fake OpenAI
 * playing the agent and the judge: reached from the agent page, it lists the scenarios; "Run
 * all" streams the run to the page (the first scenario's checks are on screen while the second's
 * call is still held at the model), then the totals; the last runs show each check, the judge's
 * reason and a link to the transcript. From the agent page's form, an unsaved edit runs the
 * scenarios with the edited instructions while the live version stays as it was.
 *
 * Skipped, with a message, where Chromium is not installed (as tests/admin_browser_test.ts).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { JUDGE_FORMAT } from "../lib/scenarios/scenario_models.ts";
import { relayHarness } from "./helpers/relay_harness.ts";
import { CHROMIUM, chromiumFor } from "./helpers/chromium.ts";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"];
const hasChromium = chromiumFor("scenario");

const SHIPPED = fileURLToPath(new URL("../assets/agents", import.meta.url));

/** An agents folder with the shipped `default` profile and two scenarios. */
async function agentsDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "scenario_page_" });
  await Deno.mkdir(`${dir}/default/scenarios`, { recursive: true });
  for (const file of ["agent.json", "instructions.md", "tools.json"]) {
    await Deno.copyFile(`${SHIPPED}/default/${file}`, `${dir}/default/${file}`);
  }
  const scenarios = {
    a_hands_off: {
      description: "asks for a person",
      caller: { turns: [{ say: "Can I talk to a person?" }] },
      checks: [
        { type: "tool_called", tool: "transfer_to_human" },
        { type: "ended", outcome: "live-agent-handoff" },
      ],
    },
    b_friendly: {
      description: "is greeted kindly",
      caller: { turns: [{ say: "Hi there" }] },
      checks: [{ type: "judged", rubric: "The agent answers kindly.", name: "kind" }],
    },
  };
  for (const [name, json] of Object.entries(scenarios)) {
    await Deno.writeTextFile(`${dir}/default/scenarios/${name}.json`, JSON.stringify(json));
  }
  return dir;
}

type Msg = { role: string; content: string };

Deno.test({
  name: "the scenarios page in headless Chromium: a run streamed to completion, an unsaved edit",
  ignore: !hasChromium,
  async fn(t) {
    const dir = await agentsDir();
    const browser: Browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
    });
    const h = await relayHarness({
      AGENTS_DIR: dir,
      HANDOFF_NUMBER: "+15550100777",
      WELCOME_GREETING: "",
    });
    const profiles = h.svc.services.profiles;
    try {
      const page: Page = await browser.newPage();
      page.setDefaultTimeout(10_000);
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(String(err)));
      /** Scripts both scenarios' calls; the second's agent reply is held after one token. */
      const scriptRun = () => {
        h.fake.script(
          {
            tokens: ["Connecting you."],
            toolCalls: [{ name: "transfer_to_human", arguments: '{"summary":"x"}' }],
          },
          { tokens: [] },
          { tokens: ["Hello, ", "lovely to hear from you."], holdAfter: 1 },
        );
        h.fake.scriptStructured({
          format: JUDGE_FORMAT,
          json: { pass: true, reason: "It greeted the caller warmly." },
        });
      };

      await t.step("the agent page links to its scenarios, listed never run", async () => {
        await page.goto(`${h.svc.url}/agents/default`);
        await Promise.all([page.waitForNavigation(), page.click('a[data-action="scenarios"]')]);
        assert.equal(new URL(page.url()).pathname, "/agents/default/scenarios");
        const names = await page.$$eval(
          "section.scenario h2",
          (els) => els.map((e) => e.textContent),
        );
        assert.deepEqual(names, ["a_hands_off", "b_friendly"]);
        assert.match(
          await page.$eval("section.scenario", (el) => el.textContent ?? ""),
          /Never run/,
        );
      });

      await t.step("Run all streams each scenario's result, then the totals", async () => {
        scriptRun();
        await page.click('button[data-action="run-all"]');
        // The first scenario's result is on the page while the second's call is held.
        await page.waitForSelector('li[data-finished="a_hands_off"] [data-status="pass"]');
        const held = await h.fake.waitForRequests(3);
        await page.waitForSelector('li[data-started="b_friendly"]');
        assert.equal(await page.$("#run-done"), null, "the run ended while a call was held");
        held.release();
        await page.waitForSelector("#run-done");
        const done = await page.$eval("#run-done", (el) => el.textContent);
        assert.equal(done, "Done: 2 passed, 0 failed, 0 errors.");
        const judged = await page.$eval(
          'li[data-finished="b_friendly"] [data-check-type="judged"]',
          (el) => el.textContent ?? "",
        );
        assert.match(judged, /kind — It greeted the caller warmly\./);
      });

      await t.step("the last runs link to their transcripts", async () => {
        await page.goto(`${h.svc.url}/agents/default/scenarios`);
        const last = 'section[data-scenario="a_hands_off"] .scenario-run[data-status="pass"]';
        await page.waitForSelector(last);
        assert.match(
          await page.$eval('section[data-scenario="b_friendly"]', (el) => el.textContent ?? ""),
          /It greeted the caller warmly/,
        );
        await Promise.all([
          page.waitForNavigation(),
          page.click(`${last} a[data-action="transcript"]`),
        ]);
        assert.match(new URL(page.url()).pathname, /^\/calls\/CA[0-9a-f]{32}$/);
        assert.match(
          await page.$eval("main", (el) => el.textContent ?? ""),
          /Can I talk to a person\?/,
        );
      });

      await t.step(
        "an unsaved edit runs its scenarios and does not change the live version",
        async () => {
          const before = await profiles.status("default");
          scriptRun();
          await page.goto(`${h.svc.url}/agents/default`);
          await page.$eval("#instructions", (el) => {
            (el as HTMLTextAreaElement).value = "You are the EDITED agent. Always be kind.";
          });
          await page.click('button[data-action="run-edit"]');
          const held = await h.fake.waitForRequests(6);
          held.release();
          await page.waitForSelector("#run-done");
          assert.match(await page.$eval("main", (el) => el.textContent ?? ""), /unsaved edit/);
          for (const request of h.fake.requests.slice(3)) {
            const system = (request.body.messages as Msg[])[0].content;
            assert.match(system, /You are the EDITED agent/);
          }
          const after = await profiles.status("default");
          assert.equal(after.version, before.version);
          assert.deepEqual(await profiles.versions("default"), []);
          await page.goto(`${h.svc.url}/agents/default`);
          const live = await page.$eval("#instructions", (el) => (el as HTMLTextAreaElement).value);
          assert.doesNotMatch(live, /EDITED/);
          assert.equal(live, after.profile!.instructions);
        },
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await h.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
