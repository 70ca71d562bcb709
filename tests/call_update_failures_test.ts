/**
 * Twilio's REST API does not always answer a call update, or answer it well, and the fake says
 * so as Twilio does: an unknown call SID gets 404 with Twilio's error body (code 20404, message,
 * more_info, status; see `tests/fixtures/twilio_rest_errors.json`), an update can be failed
 * (500, code 20500) or held unanswered. The realtime path leaves the stream whatever happens to
 * its `calls(sid).update`: a held one is given up at the service's deadline (`leaveStream`'s
 * REDIRECT_TIMEOUT_MS, 3 s) and a failed one is logged; either way the stream closes and the
 * `<Connect action>` serves what was to follow.
 */

import assert from "node:assert/strict";
import twilio from "twilio";
import { REDIRECT_TIMEOUT_MS } from "../lib/realtime/stream_exit.ts";
import { waitUntil } from "./fakes/event_log.ts";
import { FakeTwilioApi } from "./fakes/fake_twilio_api.ts";
import { TWILIO_CALLS } from "./fakes/twilio_calls.ts";
import { startRealtime } from "./helpers/realtime_harness.ts";
import { within } from "./helpers/relay_harness.ts";
import { TEST_ACCOUNT_SID, TEST_AUTH_TOKEN } from "./helpers/service.ts";

/** How long the stream may stay open past a held update: well past the 3 s the service waits. */
const DEADLINE_BUDGET_MS = 6000;

const HANG_UP = "<Response><Hangup/></Response>";

/** The fake REST API and the real SDK pointed at it (as lib/platform/twilio_api.ts does). */
async function withApi(fn: (api: FakeTwilioApi, client: twilio.Twilio) => Promise<void>) {
  const api = new FakeTwilioApi(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN);
  const base = api.start();
  const httpClient = new (class extends twilio.RequestClient {
    // deno-lint-ignore no-explicit-any -- the SDK's own signature
    override request<T>(opts: any): Promise<any> {
      opts.uri = String(opts.uri).replace("https://api.twilio.com", base);
      return super.request<T>(opts);
    }
  })();
  try {
    await fn(api, twilio(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, { httpClient, autoRetry: false }));
  } finally {
    await api.close();
  }
}

/** The SDK's RestException fields. */
function restError(err: unknown) {
  const e = err as { status: number; code: number; message: string; moreInfo: string };
  return { status: e.status, code: e.code, message: e.message, moreInfo: e.moreInfo };
}

Deno.test("fake REST API: an unknown call SID gets Twilio's 404 (20404)", async () => {
  await withApi(async (api, client) => {
    const unknown = `CA${"0".repeat(31)}9`;
    const path = `/2010-04-01/Accounts/${TEST_ACCOUNT_SID}/Calls/${unknown}.json`;
    const expected = {
      status: 404,
      code: 20404,
      message: `The requested resource ${path} was not found`,
      moreInfo: "https://www.twilio.com/docs/errors/20404",
    };
    const update = await client.calls(unknown).update({ twiml: HANG_UP }).catch((e) => e);
    assert.deepEqual(restError(update), expected);
    assert.deepEqual(restError(await client.calls(unknown).fetch().catch((e) => e)), expected);
    assert.equal(api.updates.items[0].status, 404);
    // A call Twilio has (a call leg, or one it placed) is found and updated.
    const known = `CA${crypto.randomUUID().replaceAll("-", "")}`;
    TWILIO_CALLS.add(known);
    assert.equal((await client.calls(known).fetch()).sid, known);
    assert.equal((await client.calls(known).update({ twiml: HANG_UP })).sid, known);
    const placed = await client.calls.create({
      to: "+15550100444",
      from: "+15550100000",
      twiml: HANG_UP,
    });
    assert.equal((await client.calls(placed.sid).update({ twiml: HANG_UP })).sid, placed.sid);
    assert.deepEqual(api.updates.items.map((u) => u.status), [404, 200, 200]);
  });
});

Deno.test("fake REST API: an update can be failed (500) or held", async () => {
  await withApi(async (api, client) => {
    const sid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
    TWILIO_CALLS.add(sid);
    api.failNextUpdate = 500;
    const failed = await client.calls(sid).update({ twiml: HANG_UP }).catch((e) => e);
    assert.deepEqual(restError(failed), {
      status: 500,
      code: 20500,
      message: "An internal server error has occurred",
      moreInfo: "https://www.twilio.com/docs/errors/20500",
    });
    api.holdUpdates = true;
    let answered = false;
    const held = client.calls(sid).update({ twiml: HANG_UP }).then((call) => {
      answered = true;
      return call;
    });
    const update = await api.updates.waitFor((u) => u.status === null, { what: "the held update" });
    // A later request is answered meanwhile: the fake is held, not stuck.
    assert.equal((await client.calls(sid).fetch()).sid, sid);
    assert.equal(answered, false, "not answered while held");
    api.releaseUpdates();
    assert.equal((await held).sid, sid);
    assert.equal(update.status, 200);
  });
});

Deno.test("realtime: a held REST redirect is given up at its deadline", async () => {
  const h = await startRealtime();
  try {
    h.twilioApi.holdUpdates = true;
    // OpenAI refuses the session once the call's start is in: the call must fall back.
    h.fake.holdUpgrades = true;
    const client = await h.call();
    await waitUntil(() => h.service.services.registry.list()[0]?.callSid === client.callSid, {
      what: "start handled",
    });
    h.fake.refuseStatus = 500;
    // The redirect's timer starts once the refusal is in, so after this: a sound lower bound.
    // (Timing from the fake's receipt of the update would not be: it arrives after the timer
    // started, by as much as the machine's load delays it.)
    const released = performance.now();
    h.fake.releaseUpgrades();
    const update = await h.twilioApi.updates.waitFor((u) => u.callSid === client.callSid, {
      what: "the fallback's REST redirect",
    });
    assert.match(update.twiml, /<Say>Sorry, something went wrong.*<\/Say><Hangup\/>/);
    await within(client.closed, DEADLINE_BUDGET_MS, "the stream closed at the redirect's deadline");
    const waited = performance.now() - released;
    assert.equal(update.status, null, "closed while Twilio still held the update");
    assert.ok(waited >= REDIRECT_TIMEOUT_MS - 2, `it waited for the deadline (${waited} ms)`);
    const [failed] = h.logs("call.redirect_failed");
    assert.match(String(failed?.error), /REST redirect: no answer within \d+ ms/);
    // Twilio then asks the <Connect action>, which has the fallback stored.
    assert.match(await h.afterStream(client), /<Say>Sorry, something went wrong.*<Hangup\/>/);
    await waitUntil(() => h.service.services.registry.size === 0, { what: "call removed" });
    assert.equal(h.logs("call.closed")[0].reason, "upstream-refused");
  } finally {
    await h.close();
  }
});

Deno.test("realtime: a failed REST redirect (500) is logged; the call ends", async () => {
  const FAST = { audioMs: 200, deltaMs: 100, speed: 8 };
  const h = await startRealtime({ fake: { reply: FAST } });
  try {
    h.twilioApi.failNextUpdate = 500;
    const client = await h.call();
    const session = await h.fake.session();
    h.fake.replies.push({ ...FAST }, {
      ...FAST,
      functionCalls: [{ name: "end_call", arguments: "{}" }],
    }, { ...FAST, transcript: "Goodbye!" });
    await session.events.waitFor((e) => e.type === "response.create", { what: "greeting" });
    session.speechStarted();
    session.speechStopped("that's all, bye");
    const update = await h.twilioApi.updates.waitFor((u) => u.callSid === client.callSid, {
      what: "the hang-up's REST redirect",
    });
    assert.match(update.twiml, /<Hangup\/>/);
    await within(client.closed, DEADLINE_BUDGET_MS, "the stream closed after the failed redirect");
    assert.equal(update.status, 500);
    const [failed] = h.logs("call.redirect_failed");
    assert.match(String(failed?.error), /internal server error/i);
    assert.equal(h.logs("call.redirected").length, 0);
    // The hang-up still follows the stream: Twilio runs the <Connect action>'s answer.
    assert.match(await h.afterStream(client), /<Response><Hangup\/><\/Response>$/);
    await waitUntil(() => h.service.services.registry.size === 0, { what: "call removed" });
    assert.deepEqual(h.logs("call.end").map((l) => l.reason), ["agent-ended"]);
  } finally {
    await h.close();
  }
});
