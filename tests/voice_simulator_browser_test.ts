/**
 * The voice simulator in real Chromium (puppeteer-core), against the real service and the fake
 * Realtime server, on the real Media Streams path. Chromium's fake microphone plays a WAV the
 * test writes (a 440 Hz tone); the page's audio worklet turns it into 20 ms µ-law frames:
 *
 * - the frames reach the fake Realtime as `audio/pcmu` appends, and still carry the tone;
 * - the agent's audio plays back to its end and its marks make the round trip (the bridge
 *   knows it was all heard);
 * - a barge-in from the fake (`speech_started`) clears the page's queue, and the bridge's
 *   truncate matches what the page had played at that moment, to within a 20 ms frame and
 *   one callback of the audio device;
 * - transcript, latency, mute (silent frames), the keypad (`dtmf`) and the hang-up (`stop`),
 *   after which the call's record is on `/` with its transcript;
 * - the errors people hit, each in words on the page with no call left open: OpenAI not
 *   configured, the socket refused (the service at MAX_CONCURRENT_CALLS), the microphone
 *   refused, no microphone (this machine has none: Chromium is given no fake device), the
 *   service ending the call (OpenAI failing: the record's outcome is shown), the socket
 *   dropped (a proxy in front of the service cuts its connections).
 *
 * Skipped, with a message, where Chromium is not installed. `UPDATE_SCREENSHOTS=1` also writes
 * the README's docs/voice_simulator.png.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { decodeMulaw } from "../lib/protocols/g711.ts";
import type { RealtimeCall } from "../lib/realtime/realtime_call.ts";
import { waitUntil } from "./fakes/event_log.ts";
import { startRealtime } from "./helpers/realtime_harness.ts";
import { eventually } from "./helpers/relay_harness.ts";
import { startService } from "./helpers/service.ts";
import { amplitude, cuttableProxy, toneWav } from "./helpers/voice_browser.ts";
import { CHROMIUM, chromiumFor } from "./helpers/chromium.ts";

const hasChromium = chromiumFor("voice simulator");
const screenshots = Deno.env.get("UPDATE_SCREENSHOTS") === "1";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
];
const TONE_HZ = 440;

/** A number data attribute of the voice simulator's section. */
function playout(
  page: Page,
  name: "playedMs" | "queuedMs" | "clearedAtMs" | "clearedWallMs",
): Promise<number> {
  return page.$eval("section.voice", (el, key) => Number((el as HTMLElement).dataset[key]), name);
}

/** Waits until the section's `name` attribute satisfies `ok`. */
/** The page's (wall ms, played ms) record of the render quanta just before the clear. */
async function clearedRecent(page: Page): Promise<[number, number][]> {
  const text = await page.$eval("section.voice", (el) => (el as HTMLElement).dataset.clearedRecent);
  return JSON.parse(text ?? "[]");
}

/** What had played by wall time `at`, from `recent` (interpolated between two quanta). */
function playedAt(recent: [number, number][], at: number): number {
  assert.ok(recent.length > 1 && recent[0][0] <= at, "the record covers the bridge's moment");
  for (let i = 1; i < recent.length; i++) {
    const [wall, played] = recent[i];
    if (wall < at) continue;
    const [wall0, played0] = recent[i - 1];
    return wall === wall0 ? played : played0 + (played - played0) * (at - wall0) / (wall - wall0);
  }
  return recent.at(-1)![1];
}

/**
 * The audio device's callback period, in ms, from `recent`: the median step between the wall
 * times at which it rendered (the quanta of one callback share one).
 */
function deviceCallbackMs(recent: [number, number][]): number {
  const walls = [...new Set(recent.map(([wall]) => wall))];
  const steps = walls.slice(1).map((wall, i) => wall - walls[i]).sort((a, b) => a - b);
  assert.ok(steps.length > 2, "the record spans several callbacks");
  return steps[Math.floor(steps.length / 2)];
}

async function waitForPlayout(page: Page, name: string, min: number): Promise<void> {
  await page.waitForFunction(
    (key, least) =>
      Number(document.querySelector<HTMLElement>("section.voice")?.dataset[key]) >= least,
    { timeout: 15_000 },
    name,
    min,
  );
}

async function launch(args: string[]): Promise<Browser> {
  return await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, ...args],
  });
}

Deno.test({
  name: "voice simulator in headless Chromium over the real Media Streams path",
  ignore: !hasChromium,
  async fn(t) {
    const dir = await Deno.makeTempDir();
    const wav = `${dir}/tone.wav`;
    await Deno.writeFile(wav, toneWav(TONE_HZ, 2));
    const browser = await launch([
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${wav}`,
    ]);
    const h = await startRealtime({ env: { MAX_CONCURRENT_CALLS: "1" } });
    // The greeting, then the answer the caller will cut off: paced twice as fast as real time,
    // so audio queues up on the page ahead of its playout.
    h.fake.replies.push(
      { audioMs: 1500, deltaMs: 100, speed: 2, transcript: "Hello, you reached Callbridge." },
      { audioMs: 6000, deltaMs: 100, speed: 2, transcript: "Let me check that for you." },
    );
    const store = h.service.services.records.store;
    const errors: string[] = [];
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      await page.setViewport({ width: 1100, height: 760 });
      page.on("pageerror", (err) => errors.push(String(err)));
      let callSid = "";

      await t.step(
        "the agent page's link starts a call; frames reach the model as audio/pcmu",
        async () => {
          await page.goto(`${h.service.url}/agents/default`);
          const link = 'a[href="/simulator?mode=voice&agent=default&autostart=1"]';
          await Promise.all([page.waitForNavigation(), page.click(link)]);
          await page.waitForSelector('section.voice[data-status="live"]');
          callSid = await page.$eval("section.voice .status a", (el) => el.textContent ?? "");
          assert.match(callSid, /^CA[0-9a-f]{32}$/);
          const session = await h.fake.session(0);
          const update = await session.events.waitFor((e) => e.type === "session.update", {
            what: "session.update",
          });
          const audio = (update.session as { audio: Record<string, { format: unknown }> }).audio;
          assert.deepEqual(audio.input.format, { type: "audio/pcmu" });
          await waitUntil(() => session.appended.length >= 50, {
            what: "a second of caller audio",
          });
          const bytes = Buffer.concat(
            session.appended.slice(10, 50).map((a) => Buffer.from(a, "base64")),
          );
          assert.equal(bytes.length, 40 * 160, "each append is one 20 ms frame");
          const tone = amplitude(decodeMulaw(new Uint8Array(bytes)), TONE_HZ);
          assert.ok(tone > 0.2, `the microphone's ${TONE_HZ} Hz tone is in the frames (${tone})`);
          const call = h.service.services.registry.list()[0] as RealtimeCall;
          assert.equal(call.callSid, callSid);
          assert.equal(call.customParameters.agent, "default");
        },
      );

      await t.step(
        "the agent's audio plays back to its end; its marks make the round trip",
        async () => {
          const call = h.service.services.registry.list()[0] as RealtimeCall;
          await waitForPlayout(page, "playedMs", 1000);
          assert.equal(call.playing, true, "the bridge knows the greeting is still playing");
          await waitForPlayout(page, "playedMs", 1480);
          // Every mark echoed: the bridge knows the greeting was heard to its end.
          await waitUntil(() => !call.playing, { what: "the greeting's marks echoed" });
          const played = await playout(page, "playedMs");
          assert.ok(Math.abs(played - 1500) <= 10, `the page played ${played} ms of 1500`);
          await page.waitForFunction(() =>
            [...document.querySelectorAll("#voice-lines li.agent")].some((li) =>
              li.textContent === "Hello, you reached Callbridge."
            )
          );
        },
      );

      await t.step(
        "a barge-in clears the page's queue; the truncate matches what played",
        async () => {
          const session = await h.fake.session(0);
          const before = await playout(page, "playedMs");
          session.speechStopped("Is there a table for two tonight?");
          await page.waitForFunction(() =>
            [...document.querySelectorAll("#voice-lines li.caller")].some((li) =>
              li.textContent === "Is there a table for two tonight?"
            )
          );
          await waitForPlayout(page, "playedMs", before + 1200);
          const queued = await playout(page, "queuedMs");
          assert.ok(queued > 200, "audio is queued ahead of playout");
          session.speechStarted();
          const truncate = await session.truncates.waitFor(() => true, { what: "the truncate" });
          await waitForPlayout(page, "clearedAtMs", before);
          // The page plays on while the clear travels to it, as a phone does: what it had played
          // when the bridge decided is what it played by the clear, less the clear's transit
          // (both clocks are this machine's wall clock; the bridge's moment is its log line's).
          const [bargeIn] = h.logs("realtime.barge_in");
          const transit = (await playout(page, "clearedWallMs")) - Date.parse(String(bargeIn.time));
          assert.ok(transit >= 0 && transit < queued, `the clear took ${transit} ms to apply`);
          // What the page had played at the bridge's moment, read from its audio thread's own
          // record (under load that thread can play slower than the wall clock runs).
          const heard = playedAt(await clearedRecent(page), Date.parse(String(bargeIn.time))) -
            before;
          // Within one 20 ms frame (the bridge counts what played by Twilio's marks, one per
          // frame), plus what the page's record cannot resolve: the audio device renders a
          // callback's worth of quanta at once (10 ms here), so what had played at a moment is
          // known to one callback, read off the record (the typical step between its times),
          // and the whole milliseconds of both wall clocks.
          const callbackMs = deviceCallbackMs(await clearedRecent(page));
          const lost = await page.$eval(
            "section.voice",
            (el) => Number((el as HTMLElement).dataset.clearedLostMs),
          );
          assert.ok(
            Math.abs(truncate.audioEndMs - heard) <= 20 + callbackMs + 2,
            `truncated at ${truncate.audioEndMs} ms, the page had played ${heard} ms ` +
              `(${transit} ms before the clear reached it; device callback ${callbackMs} ms; the page's audio had lost ${lost} ms)`,
          );
          // Nothing of the cut answer plays after the clear.
          const call = h.service.services.registry.list()[0] as RealtimeCall;
          await waitUntil(() => !call.playing, { what: "the cleared marks echoed" });
          assert.equal(await playout(page, "queuedMs"), 0);
          await page.waitForFunction(() =>
            /^latency \d+ ms/.test(document.querySelector("#voice-latency")?.textContent ?? "")
          );
          if (screenshots) await page.screenshot({ path: "docs/voice_simulator.png" });
        },
      );

      await t.step("mute sends silent frames; the keypad sends dtmf", async () => {
        const session = await h.fake.session(0);
        await page.click("#voice-mute");
        const from = session.appended.length + 5; // frames already on their way
        await waitUntil(() => session.appended.length >= from + 10, { what: "frames after mute" });
        const muted = session.appended.slice(from, from + 10).map((a) => Buffer.from(a, "base64"));
        assert.ok(muted.every((f) => f.every((b) => b === 0xff)), "muted frames are silence");
        assert.equal(await page.$eval("#voice-level", (el) => (el as HTMLMeterElement).value), 0);
        await page.click("#voice-mute");
        const events = session.events.items.length;
        await page.click(".dtmf button:nth-child(5)"); // 5
        await session.events.waitFor(
          (e) => e.type === "conversation.item.create" && JSON.stringify(e).includes("keys: 5"),
          { what: "the key press given to the model", from: events },
        );
      });

      await t.step(
        "a second call while the line is busy: the socket refused, in words",
        async () => {
          const other = await browser.newPage();
          try {
            await other.goto(`${h.service.url}/simulator?mode=voice&agent=default&autostart=1`);
            await other.waitForSelector("#voice-problem");
            assert.match(
              await other.$eval("#voice-problem", (el) => el.textContent ?? ""),
              /^The service refused the call's socket \(it may be draining or at MAX_CONCURRENT_CALLS/,
            );
            assert.equal(
              await other.$eval("section.voice", (el) => (el as HTMLElement).dataset.status),
              "ended",
            );
            assert.equal(h.service.services.registry.list().length, 1, "the first call goes on");
          } finally {
            await other.close();
          }
        },
      );

      await t.step(
        "hang up: the stream stops, the record is on / with its transcript",
        async () => {
          await page.click("#voice-hangup");
          await page.waitForSelector('section.voice[data-status="ended"]');
          assert.equal(await page.$("#voice-problem"), null, "a hang-up is no problem");
          await eventually(
            async () => (await store.findBySid(callSid))[0]?.outcome === "caller-hangup",
            "the call's record completed",
          );
          assert.equal(h.service.services.registry.list().length, 0);
          await page.goto(`${h.service.url}/`);
          await page.waitForSelector(`a[href="/calls/${callSid}"]`);
          await page.click(`a[href="/calls/${callSid}"]`);
          await page.waitForSelector("ol.transcript li");
          const lines = await page.$$eval(
            "ol.transcript li",
            (els) => els.map((el) => `${el.className}: ${el.lastChild?.textContent ?? ""}`),
          );
          assert.deepEqual(lines.slice(0, 2), [
            "line agent: Hello, you reached Callbridge.",
            "line caller: Is there a table for two tonight?",
          ]);
        },
      );

      await t.step("OpenAI not configured: said on the page, no call opened", async () => {
        const bare = await startService();
        try {
          await page.goto(`${bare.url}/simulator?mode=voice&autostart=1`);
          await page.waitForSelector("#voice-problem");
          assert.match(
            await page.$eval("#voice-problem", (el) => el.textContent ?? ""),
            /OpenAI is not configured: OPENAI_API_KEY is not set/,
          );
          assert.equal(
            await page.$eval("section.voice", (el) => (el as HTMLElement).dataset.status),
            "idle",
          );
          assert.equal(bare.services.registry.list().length, 0);
        } finally {
          await page.goto("about:blank");
          await bare.close();
        }
      });
      assert.deepEqual(errors, [], "no script error on the page");
    } finally {
      await browser.close();
      await h.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** What the page says, and where the call is, once starting a voice call from `args`' browser. */
async function startWith(
  args: string[],
): Promise<{ problem: string; status: string; calls: number }> {
  const browser = await launch(args);
  const h = await startRealtime();
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${h.service.url}/simulator?mode=voice`);
    await page.click("#voice-start");
    await page.waitForSelector("#voice-problem");
    return {
      problem: await page.$eval("#voice-problem", (el) => el.textContent ?? ""),
      status: await page.$eval("section.voice", (el) => (el as HTMLElement).dataset.status ?? ""),
      calls: h.service.services.registry.list().length + h.fake.sessions.items.length,
    };
  } finally {
    await browser.close();
    await h.close();
  }
}

Deno.test({
  name: "voice simulator: the microphone refused, or none, is said on the page; no call opens",
  ignore: !hasChromium,
  async fn() {
    // Headless Chromium without the fake permission UI refuses the microphone's prompt.
    const refused = await startWith(["--use-fake-device-for-media-stream"]);
    assert.deepEqual(refused, {
      problem: "The microphone was refused: allow it for this page (the icon in the address " +
        "bar), then start the call again.",
      status: "idle",
      calls: 0,
    });
    // The permission granted, but no capture device at all (this machine has none).
    const none = await startWith(["--use-fake-ui-for-media-stream"]);
    assert.deepEqual(none, {
      problem: "No microphone was found: connect one, then start the call again.",
      status: "idle",
      calls: 0,
    });
  },
});

Deno.test({
  name: "voice simulator: OpenAI failing ends the call from the service side, said on the page",
  ignore: !hasChromium,
  async fn() {
    const browser = await launch([
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
    ]);
    const h = await startRealtime();
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(`${h.service.url}/simulator?mode=voice&autostart=1`);
      await page.waitForSelector('section.voice[data-status="live"]');
      const session = await h.fake.session(0);
      await session.events.waitFor((e) => e.type === "session.update", { what: "session.update" });
      session.sendError("insufficient_quota", "You exceeded your current quota.");
      await page.waitForSelector('section.voice[data-status="ended"]');
      // The record's outcome follows on the event stream.
      await page.waitForFunction(() =>
        document.querySelector("#voice-problem")?.textContent?.includes("(") === true
      );
      assert.equal(
        await page.$eval("#voice-problem", (el) => el.textContent ?? ""),
        "The service ended the call (openai-insufficient_quota).",
      );
      assert.equal(h.service.services.registry.list().length, 0, "no call left open");
    } finally {
      await browser.close();
      await h.close();
    }
  },
});

Deno.test({
  name: "voice simulator: a dropped socket is said on the page, and the call ends on both sides",
  ignore: !hasChromium,
  async fn() {
    const browser = await launch([
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
    ]);
    const h = await startRealtime();
    const proxy = cuttableProxy(new URL(h.service.url).host);
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(`${proxy.url}/simulator?mode=voice&autostart=1`);
      await page.waitForSelector('section.voice[data-status="live"]');
      await h.fake.session(0);
      proxy.cut(); // the network goes away under the call
      await page.waitForSelector('section.voice[data-status="ended"]');
      assert.match(
        await page.$eval("#voice-problem", (el) => el.textContent ?? ""),
        /^The call's socket dropped \(code 1006\)\.$/,
      );
      await waitUntil(() => h.service.services.registry.list().length === 0, {
        what: "the service's side of the call ended",
      });
    } finally {
      await browser.close();
      proxy.close();
      await h.close();
    }
  },
});
