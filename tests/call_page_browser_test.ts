/**
 * After the call, in a real browser (headless Chromium through puppeteer-core): the call page
 * shows the analysis and plays the recording (the WAV reaches the player through the admin
 * route, its duration read from the media itself), its delete button asks first and then
 * deletes; the agent page refuses an analysis schema strict structured outputs would refuse,
 * naming the field. Skipped, with a message, where Chromium is not installed.
 */

import assert from "node:assert/strict";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { agentsWithAnalysis, analysedRecord } from "./helpers/after_call.ts";
import { relayHarness } from "./helpers/relay_harness.ts";
import { postSigned, TEST_ACCOUNT_SID } from "./helpers/service.ts";
import { CHROMIUM, chromiumFor } from "./helpers/chromium.ts";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio"];
const hasChromium = chromiumFor("call page");

Deno.test({
  name: "the call page in Chromium: analysis, recording, deletion; the analysis editor",
  ignore: !hasChromium,
  async fn(t) {
    const browser: Browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
    });
    const dir = await agentsWithAnalysis({ record: true });
    const h = await relayHarness({ AGENTS_DIR: dir });
    try {
      const page: Page = await browser.newPage();
      page.setDefaultTimeout(10_000);
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(String(err)));
      const twilioRequests: string[] = [];
      page.on("request", (req) => {
        // data: URLs are Chromium's own player icons.
        if (/^https?:/.test(req.url()) && !req.url().startsWith(h.svc.url)) {
          twilioRequests.push(req.url());
        }
      });

      h.fake.scriptStructured({
        json: {
          summary: "Ada booked a check-up for Tuesday.",
          outcome: "booked",
          fields: { name: "Ada", day: "Tuesday" },
        },
      });
      const call = await h.call({ agent: "clinic" });
      call.prompt("I'm Ada, book me Tuesday");
      await call.turn();
      const recording = await h.twilioApi.recordings.waitFor(
        (r) => r.callSid === call.callSid,
        { what: "the recording" },
      );
      const res = await postSigned(`${h.svc.url}/twilio/recording`, {
        AccountSid: TEST_ACCOUNT_SID,
        CallSid: call.callSid,
        RecordingSid: recording.sid,
        RecordingStatus: "completed",
        RecordingDuration: "1",
        RecordingChannels: "2",
      });
      assert.equal(res.status, 204);
      await call.hangUp();
      await analysedRecord(h.svc.services.records.store, call.callSid);

      await t.step("the analysis is shown and the recording plays", async () => {
        await page.goto(`${h.svc.url}/calls/${call.callSid}`);
        assert.equal(
          await page.$eval(".analysis-summary", (el) => el.textContent),
          "Ada booked a check-up for Tuesday.",
        );
        assert.equal(await page.$eval(".analysis-outcome", (el) => el.textContent), "booked");
        const fields = await page.$eval(".analysis-fields", (el) => el.textContent ?? "");
        assert.deepEqual(JSON.parse(fields), { name: "Ada", day: "Tuesday" });
        // The player loads the media through the admin route: its duration is the WAV's.
        const audio = await page.$eval("section.recording audio", async (el) => {
          const media = el as HTMLAudioElement;
          if (media.readyState < 1) {
            await new Promise((resolve, reject) => {
              media.addEventListener("loadedmetadata", resolve, { once: true });
              media.addEventListener("error", () => reject(new Error("media error")), {
                once: true,
              });
              media.load();
            });
          }
          return { src: media.currentSrc, duration: media.duration };
        });
        assert.equal(audio.src, `${h.svc.url}/calls/${call.callSid}/recording`);
        assert.ok(Math.abs(audio.duration - 0.5) < 0.01, `duration ${audio.duration}`);
        assert.ok(h.twilioApi.mediaRequests.length >= 1, "fetched from Twilio by the service");
        assert.deepEqual(twilioRequests, [], "the browser asked nothing of Twilio");
      });

      await t.step("delete asks first, then deletes the call and its recording", async () => {
        await Promise.all([page.waitForNavigation(), page.click("button.delete-call")]);
        assert.match(await page.$eval("h1", (el) => el.textContent ?? ""), /Delete this call\?/);
        assert.equal((await h.svc.services.records.store.findBySid(call.callSid)).length, 1);
        await Promise.all([page.waitForNavigation(), page.click("button.confirm-delete")]);
        assert.equal(await page.$eval("h1", (el) => el.textContent), "Call deleted");
        assert.equal((await h.svc.services.records.store.findBySid(call.callSid)).length, 0);
        assert.equal(recording.deleted, true);
      });

      await t.step("the agent page refuses a schema the API would refuse", async () => {
        await page.goto(`${h.svc.url}/agents/clinic`);
        const current = await page.$eval(
          "#analysisJson",
          (el) => (el as HTMLTextAreaElement).value,
        );
        assert.equal(JSON.parse(current).summary, "One sentence: what the caller wanted.");
        const loose = {
          summary: "S",
          fields: { type: "object", properties: { name: { type: "string" } } },
        };
        await page.$eval("#analysisJson", (el, text) => {
          (el as HTMLTextAreaElement).value = text;
        }, JSON.stringify(loose));
        await Promise.all([page.waitForNavigation(), page.click("form.card button[type=submit]")]);
        const problems = await page.$$eval(
          "p.problem",
          (els) => els.map((el) => el.textContent ?? ""),
        );
        assert.ok(
          problems.some((p) => /analysis\.fields must set "additionalProperties": false/.test(p)),
          problems.join("\n"),
        );
        const placed = await page.$$eval(
          'p.problem[data-field="analysisJson"]',
          (els) => els.length,
        );
        assert.equal(placed, problems.length, "each next to the analysis field");
        assert.equal((await h.svc.services.profiles.versions("clinic")).length, 0, "not saved");
      });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await h.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
