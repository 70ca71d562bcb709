/**
 * The admin pages in a real browser (headless Chromium through puppeteer-core), against the real
 * service with a fake OpenAI: the dashboard's live list follows a call, the call's page shows its
 * transcript and latency chart, an agent edit applies to the next call, the config page flags a
 * missing key (and its icon and files all load), and the simulator holds a conversation with an interrupt and key presses, and
 * plays a call from a number with params, showing its tool calls live.
 *
 * One browser for the file. Skipped, with a message, where Chromium is not installed
 * (`apt-get install -y chromium`; `.ci/run` does it). `UPDATE_SCREENSHOTS=1` also writes the
 * README's screenshots (docs/dashboard.png, docs/call.png).
 */

import assert from "node:assert/strict";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { eventually, relayHarness } from "./helpers/relay_harness.ts";
import { startService } from "./helpers/service.ts";
import { CHROMIUM, chromiumFor } from "./helpers/chromium.ts";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const hasChromium = chromiumFor("admin");
const screenshots = Deno.env.get("UPDATE_SCREENSHOTS") === "1";

type Msg = { role: string; content: string };

Deno.test({
  name: "admin pages in headless Chromium",
  ignore: !hasChromium,
  async fn(t) {
    const browser: Browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
    });
    const h = await relayHarness({ WELCOME_GREETING: "Hello, you reached Callbridge." });
    const store = h.svc.services.records.store;
    try {
      const page: Page = await browser.newPage();
      page.setDefaultTimeout(10_000);
      await page.setViewport({ width: 1100, height: 760 });
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(String(err)));
      let callSid = "";

      await t.step("the dashboard shows a live call appear and finish", async () => {
        await page.goto(`${h.svc.url}/`);
        await page.waitForSelector('section.live[data-feed="live"]');
        h.fake.script({ tokens: ["We ", "are ", "open ", "until ", "six."] });
        const call = await h.call();
        callSid = call.callSid;
        const row = `tr.live-call[data-call-sid="${callSid}"]`;
        await page.waitForSelector(row);
        assert.match(await page.$eval(row, (el) => el.textContent ?? ""), /\+\*{7}0123/);
        call.prompt("When are you open?");
        await call.turn();
        if (screenshots) {
          await page.reload();
          await page.waitForSelector(row);
          await page.screenshot({ path: "docs/dashboard.png" });
        }
        await call.hangUp();
        await page.waitForSelector(row, { hidden: true });
      });

      await t.step("the call's page shows the transcript and the latency chart", async () => {
        await eventually(
          async () => (await store.findBySid(callSid))[0]?.outcome === "caller-hangup",
          "the call's record completed",
        );
        await page.goto(`${h.svc.url}/calls/${callSid}`);
        const lines = await page.$$eval(
          "ol.transcript li",
          (els) => els.map((el) => `${el.className}: ${el.lastChild?.textContent ?? ""}`),
        );
        assert.deepEqual(lines, [
          "line agent: Hello, you reached Callbridge.",
          "line caller: When are you open?",
          "line agent: We are open until six.",
        ]);
        assert.equal((await page.$$("svg.chart.latency rect.bar")).length, 1);
        if (screenshots) await page.screenshot({ path: "docs/call.png", fullPage: true });
      });

      await t.step("an agent edit is saved and the next call uses it", async () => {
        await page.goto(`${h.svc.url}/agents/default`);
        const instructions = "You are Wren, the night-shift assistant.";
        await page.$eval("#instructions", (el, text) => {
          (el as HTMLTextAreaElement).value = text;
        }, instructions);
        await Promise.all([page.waitForNavigation(), page.click("form.card button[type=submit]")]);
        assert.match(page.url(), /\/agents\/default\?saved=1$/);
        assert.match(await page.$eval("p.notice", (el) => el.textContent ?? ""), /version 1/);
        const before = h.fake.requests.length;
        const call = await h.call();
        call.prompt("Who are you?");
        await call.turn();
        await call.hangUp();
        const messages = h.fake.requests[before].body.messages as Msg[];
        assert.equal(messages[0].content, instructions);
      });

      await t.step("the config page flags a missing OpenAI key with a fix", async () => {
        const bare = await startService();
        const failed: string[] = [];
        const onResponse = (r: { status(): number; url(): string }) => {
          if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
        };
        page.on("response", onResponse);
        try {
          // The browser asks for the page's icon after the page: wait for that answer.
          const icon = page.waitForResponse((r) => r.url().includes("favicon"));
          await page.goto(`${bare.url}/config`);
          assert.equal((await icon).status(), 200);
          assert.deepEqual(failed, [], "no request of the page failed");
          const check = await page.$eval(
            '[data-check="OpenAI key accepted"]',
            (el) => ({ text: el.textContent ?? "", bad: el.classList.contains("bad") }),
          );
          assert.equal(check.bad, true);
          assert.match(check.text, /OPENAI_API_KEY is not set/);
          assert.match(check.text, /Fix: Create a key/);
        } finally {
          page.off("response", onResponse);
          await page.goto("about:blank");
          await bare.close();
        }
      });

      await t.step("the simulator holds a conversation with an interrupt and keys", async () => {
        await page.goto(`${h.svc.url}/simulator`);
        await page.click("#sim-start");
        await page.waitForSelector('section.simulator[data-status="live"]');
        const sid = await page.$eval(".simulator .status a", (el) => el.textContent ?? "");
        assert.match(sid, /^CA[0-9a-f]{32}$/);
        h.fake.script({ tokens: ["Let ", "me ", "check ", "that ", "for ", "you."], holdAfter: 3 });
        const before = h.fake.requests.length;
        await page.type("#sim-text", "A table for two tonight?");
        await page.click("#sim-send");
        await page.waitForFunction(() =>
          document.querySelector("#sim-lines li.agent.streaming")?.textContent === "Let me check "
        );
        const held = await h.fake.waitForRequests(before + 1);
        await page.click("#sim-interrupt");
        await held.aborted; // the upstream stream was cut at once
        await page.waitForSelector("#sim-lines li.agent.interrupted");
        h.fake.script({ tokens: ["Yes, ", "at eight."] });
        await page.type("#sim-text", "Sorry, go on.");
        await page.click("#sim-send");
        await page.waitForFunction(() => {
          const agent = [...document.querySelectorAll("#sim-lines li.agent")].at(-1);
          return agent?.textContent === "Yes, at eight." && !agent.classList.contains("streaming");
        });
        // The keypad: "#" sends the keys at once and the agent answers them.
        await page.click(".dtmf button:nth-child(7)"); // 7
        await page.click(".dtmf button:nth-child(12)"); // #
        await page.waitForFunction(() => {
          const agent = [...document.querySelectorAll("#sim-lines li.agent")].at(-1);
          return agent?.textContent?.includes("pressed the keys: 7 #") &&
            !agent.classList.contains("streaming");
        });
        await page.click("#sim-hangup");
        await page.waitForSelector('section.simulator[data-status="ended"]');
        const lines = await page.$$eval("#sim-lines li", (els) => els.map((el) => el.className));
        assert.deepEqual(lines, [
          "line agent",
          "line caller",
          "line agent interrupted",
          "line note",
          "line caller",
          "line agent",
          "line caller",
          "line caller",
          "line agent",
        ]);
        await eventually(
          async () => (await store.findBySid(sid))[0]?.outcome === "caller-hangup",
          "the simulated call recorded",
        );
        const [record] = await store.findBySid(sid);
        const detail = (await store.getDetail(record.id))!;
        const cut = detail.transcript.find((turn) => turn.interrupted);
        assert.equal(cut?.text, "Let me check");
        assert.equal(detail.events.filter((e) => e.type === "interrupt").length, 1);
      });
      await t.step(
        "the simulator: caller, params, tool calls live, input off at the end",
        async () => {
          await page.goto(`${h.svc.url}/simulator`);
          assert.equal(
            await page.$eval("#sim-agent", (el) => (el as HTMLSelectElement).value),
            "default",
          );
          await page.select("#sim-agent", "appointments");
          await page.click("#sim-from", { clickCount: 3 });
          await page.type("#sim-from", "+15550100777");
          await page.type("#sim-params", '{"customerName": "Ada"}');
          h.fake.script(
            { toolCalls: [{ name: "find_slots", arguments: '{"date":"2030-03-04"}' }] },
            { tokens: ["Nine ", "is free."] },
          );
          const before = h.fake.requests.length;
          await page.click("#sim-start");
          await page.waitForSelector('section.simulator[data-status="live"]');
          await page.type("#sim-text", "Anything on March the fourth?");
          await page.click("#sim-send");
          await page.waitForSelector("#sim-lines li.tool");
          const tool = await page.$eval("#sim-lines li.tool", (el) => el.textContent ?? "");
          assert.match(
            tool,
            /^find_slots\(\{"date":"2030-03-04"\}\) → \{"date":"2030-03-04","slots":\["2030-03-04T09:00",/,
          );
          await page.waitForFunction(() => {
            const agent = [...document.querySelectorAll("#sim-lines li.agent")].at(-1);
            return agent?.textContent === "Nine is free." && !agent.classList.contains("streaming");
          });
          // The caller's number and the params reached the call as a real call's do.
          const system = (h.fake.requests[before].body.messages as Msg[])[0].content;
          assert.match(system, /The caller's number is \+15550100777\./);
          assert.match(system, /The caller is probably\s+Ada\./);
          h.fake.script({
            tokens: ["Goodbye!"],
            toolCalls: [{ name: "end_call", arguments: '{"reason":"done"}' }],
          });
          await page.type("#sim-text", "That's all, bye.");
          await page.click("#sim-send");
          await page.waitForSelector('section.simulator[data-status="ended"]');
          const disabled = await page.$$eval(
            "#sim-text, #sim-send, #sim-interrupt, .dtmf button",
            (els) => els.map((el) => (el as HTMLInputElement).disabled),
          );
          assert.equal(disabled.length, 15);
          assert.ok(disabled.every(Boolean), "nothing can be said or pressed after the end");
          const notes = await page.$$eval(
            "#sim-lines li.note",
            (els) => els.map((el) => el.textContent),
          );
          assert.ok(notes.includes("The agent ended the call."));
        },
      );
      assert.deepEqual(errors, [], "no script error on any page");
    } finally {
      await browser.close();
      await h.close();
    }
  },
});
