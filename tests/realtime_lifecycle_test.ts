/**
 * The realtime path's TwiML, signatures and lifecycle over real sockets: failures upstream never
 * leave the caller in dead air, hang-ups close the upstream socket (even while it connects), bad
 * frames are dropped, and an expired session is replaced and re-seeded.
 */

import assert from "node:assert/strict";
import { waitUntil } from "./fakes/event_log.ts";
import { MediaStreamsClient } from "./fakes/media_streams_client.ts";
import { callerFrame, type RealtimeHarness, startRealtime } from "./helpers/realtime_harness.ts";
import { postSigned, TEST_AUTH_TOKEN } from "./helpers/service.ts";
import type { RealtimeCall } from "../lib/realtime/realtime_call.ts";
import { FakeClock } from "./helpers/fake_clock.ts";

async function postVoice(h: RealtimeHarness, path: string): Promise<string> {
  const url = `${h.service.url}${path}`;
  const params = { CallSid: "CA1", From: "+15550100", To: "+15550199" };
  const res = await postSigned(url, params);
  assert.equal(res.status, 200);
  return await res.text();
}

/** Waits until the call has ended on the service side and the stream socket is closed. */
async function assertStreamClosed(h: RealtimeHarness, client: MediaStreamsClient) {
  await client.closed;
  await waitUntil(() => h.service.services.registry.size === 0, { what: "call removed" });
}

Deno.test("TwiML: /twilio/voice/realtime and /twilio/voice (realtime mode) connect a Stream; /relay stays relay", async () => {
  const h = await startRealtime({ env: { REALTIME_INTRO: "Connecting you now." } });
  try {
    const twiml = await postVoice(h, "/twilio/voice/realtime");
    const ws = h.service.url.replace("http", "ws");
    assert.match(
      twiml,
      new RegExp(
        `^<\\?xml[^>]*\\?><Response><Say>Connecting you now.</Say><Connect action="${h.service.url}/twilio/stream/action" method="POST"><Stream url="${ws}/twilio/stream"><Parameter name="agent" value="default"/><Parameter name="token" value="cbcall\\.\\d+\\.[\\w-]{43}"/><Parameter name="from" value="\\+15550100"/><Parameter name="to" value="\\+15550199"/><Parameter name="direction" value="inbound"/></Stream></Connect></Response>$`,
      ),
    );
    const withoutToken = (text: string) => text.replace(/cbcall\.[^"]+/, "");
    assert.equal(withoutToken(await postVoice(h, "/twilio/voice")), withoutToken(twiml));
    assert.match(await postVoice(h, "/twilio/voice/relay"), /<ConversationRelay /);
  } finally {
    await h.close();
  }
});

Deno.test("GET /twilio/stream without a valid signature is refused", async () => {
  const h = await startRealtime();
  try {
    await assert.rejects(MediaStreamsClient.connect(h.service.url, { authToken: "wrong" }));
    await assert.rejects(MediaStreamsClient.connect(h.service.url));
    assert.equal(h.fake.upgrades.items.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("OpenAI refuses the connection: the call is redirected to the fallback and the stream closed", async () => {
  const h = await startRealtime();
  try {
    h.fake.holdUpgrades = true;
    const client = await h.call();
    await waitUntil(() => h.service.services.registry.list()[0]?.callSid === client.callSid, {
      what: "start handled",
    });
    h.fake.refuseStatus = 401;
    h.fake.releaseUpgrades();
    const update = await h.twilioApi.updates.waitFor(() => true, { what: "REST redirect" });
    assert.equal(update.callSid, client.callSid);
    assert.match(update.twiml, /<Say>Sorry, something went wrong.*<\/Say><Hangup\/>/);
    await assertStreamClosed(h, client);
    assert.equal(h.logs("call.closed")[0].reason, "upstream-refused");
  } finally {
    await h.close();
  }
});

Deno.test("OpenAI drops the socket mid-call: the stream is closed so the fallback plays", async () => {
  const h = await startRealtime({
    env: { TWILIO_ACCOUNT_SID: "", REALTIME_GREETING: "" },
  });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    await session.events.waitFor((e) => e.type === "session.update", { what: "session.update" });
    session.close(1011, "internal error");
    await assertStreamClosed(h, client);
    assert.equal(h.twilioApi.updates.items.length, 0, "no REST credentials, no redirect");
    assert.equal(h.logs("call.closed")[0].reason, "upstream-dropped");
  } finally {
    await h.close();
  }
});

Deno.test("without REST credentials, what follows the stream is how it ended (<Connect action>)", async () => {
  const FAST = { audioMs: 200, deltaMs: 100, speed: 8 };
  const h = await startRealtime({
    env: { TWILIO_ACCOUNT_SID: "", HANDOFF_NUMBER: "+15550100777" },
    fake: { reply: FAST },
  });
  try {
    /** A call whose second reply makes the tool calls `calls`; the TwiML that follows it. */
    const endedBy = async (calls: { name: string; arguments: string }[]) => {
      const before = h.fake.sessions.items.length;
      const client = await h.call();
      const session = await h.fake.session(before);
      h.fake.replies.push({ ...FAST }, { ...FAST, functionCalls: calls });
      await session.events.waitFor((e) => e.type === "response.create", { what: "greeting" });
      session.speechStarted();
      session.speechStopped("bye");
      return await h.afterStream(client);
    };
    // A normal ending hangs up: no apology.
    const hungUp = await endedBy([{ name: "end_call", arguments: "{}" }]);
    assert.match(hungUp, /<Response><Hangup\/><\/Response>$/);
    // A transfer works without REST credentials: the <Dial> follows the stream.
    const dialled = await endedBy([{ name: "transfer_to_human", arguments: '{"summary":"x"}' }]);
    assert.match(dialled, /<Response><Dial>\+15550100777<\/Dial><\/Response>$/);
    // A failure apologises.
    const before = h.fake.sessions.items.length;
    const dropped = await h.call();
    const live = await h.fake.session(before);
    await live.events.waitFor((e) => e.type === "session.update", { what: "configured" });
    live.close(1011, "internal error");
    assert.match(await h.afterStream(dropped), /<Say>Sorry, something went wrong.*<Hangup\/>/);
    // A stream that ended with nothing stored (a crash): the apology; a caller gone: nothing.
    const stranger = await MediaStreamsClient.connect(h.service.url, {
      authToken: TEST_AUTH_TOKEN,
    });
    await stranger.close();
    assert.match(await h.afterStream(stranger), /<Say>Sorry, something went wrong/);
    assert.match(await h.afterStream(stranger, "completed"), /<Response\/>$/);
    assert.equal(h.twilioApi.updates.items.length, 0, "nothing went through the REST API");
    assert.deepEqual(h.logs("stream.action").map((l) => l.outcome), [
      "agent-ended",
      "live-agent-handoff",
      "upstream-dropped",
      "unknown",
      "completed",
    ]);
  } finally {
    await h.close();
  }
});

Deno.test("OpenAI errors: a recoverable one is logged and the call goes on; a fatal one ends the stream", async () => {
  const h = await startRealtime({ env: { REALTIME_GREETING: "" } });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    await session.events.waitFor((e) => e.type === "session.update", { what: "session.update" });
    session.sendError("invalid_value", "something small went wrong");
    client.media(callerFrame(1));
    await waitUntil(() => session.appended.length === 1, { what: "audio still flowing" });
    assert.equal(h.logs("realtime.error")[0].code, "invalid_value");
    assert.ok(client.open);
    session.sendError(
      "insufficient_quota",
      "You exceeded your current quota",
      "insufficient_quota",
    );
    await h.twilioApi.updates.waitFor(() => true, { what: "REST redirect" });
    await assertStreamClosed(h, client);
    await session.closed;
    assert.equal(h.logs("call.closed")[0].reason, "openai-insufficient_quota");
  } finally {
    await h.close();
  }
});

Deno.test("Twilio stop, or a socket closed without stop, closes the OpenAI socket at once", async () => {
  const h = await startRealtime();
  try {
    const first = await h.call();
    const firstSession = await h.fake.session(0);
    await firstSession.events.waitFor((e) => e.type === "session.update", { what: "update" });
    first.stop();
    const closed = await firstSession.closed;
    assert.equal(closed.code, 1000);
    const second = await h.call();
    const secondSession = await h.fake.session(1);
    await secondSession.events.waitFor((e) => e.type === "session.update", { what: "update" });
    await second.close();
    await secondSession.closed;
    await waitUntil(() => h.service.services.registry.size === 0, { what: "calls removed" });
    assert.equal(h.twilioApi.updates.items.length, 0, "a hang-up is not a failure");
  } finally {
    await h.close();
  }
});

Deno.test("hang-up while the OpenAI socket is still connecting leaves nothing open", async () => {
  const h = await startRealtime();
  try {
    h.fake.holdUpgrades = true;
    const client = await h.call();
    // The call's token checked, its upstream socket on its way.
    await waitUntil(() => h.service.services.registry.list()[0]?.callSid === client.callSid, {
      what: "call started",
    });
    client.media(callerFrame(1));
    await client.close();
    const upgrade = await h.fake.upgrades.waitFor((u) => u.status === "aborted", {
      what: "upstream handshake aborted",
    });
    assert.equal(upgrade.status, "aborted");
    assert.equal(h.service.services.registry.size, 0);
    assert.equal(h.fake.sessions.items.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("malformed and out-of-order frames are logged (rate-limited) and dropped; the call goes on", async () => {
  const h = await startRealtime({ env: { REALTIME_GREETING: "" } });
  try {
    const client = await h.call({ start: false });
    client.media(callerFrame(0)); // media before start
    client.sendRaw("{not json");
    client.sendRaw(new Uint8Array([1, 2, 3]));
    client.sendJson({ event: "mystery", streamSid: "MZ1" });
    client.sendJson({ event: "mark", mark: {} }); // nameless mark
    client.sendJson({ event: "media", media: { payload: "not base64!" } });
    for (let i = 0; i < 40; i++) client.sendRaw("[]");
    await h.start(client);
    client.media(callerFrame(1));
    const session = await h.fake.session();
    await waitUntil(() => session.appended.length === 1, { what: "audio after start" });
    assert.deepEqual(session.appended, [callerFrame(1)]);
    const dropped = h.logs("realtime.frame_dropped");
    assert.equal(dropped.length, 10, "rate-limited");
    assert.deepEqual(
      dropped.slice(0, 6).map((l) => l.error),
      [
        "media before start",
        "invalid JSON",
        "binary frame",
        'unknown event "mystery"',
        "mark without a name",
        "media without a base64 payload",
      ],
    );
    assert.ok(dropped.every((l) => !("stack" in l)));
    assert.ok(client.open);
    assert.equal(session.errors.items.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("session expiry (server closes 1001): reconnects, re-seeds the transcript, audio goes on", async () => {
  const h = await startRealtime({ fake: { reply: { audioMs: 200, deltaMs: 100, speed: 8 } } });
  try {
    const client = await h.call();
    const first = await h.fake.session(0);
    const bridge = h.service.services.registry.list()[0] as RealtimeCall;
    await waitUntil(() => client.playedBytes() === 1600 && !bridge.playing, {
      what: "greeting heard in full",
    });
    first.speechStarted();
    first.speechStopped("I need help with my bill");
    await waitUntil(() => first.sent.filter((t) => t === "response.done").length === 2, {
      what: "second reply",
    });
    first.close(1001, "session expired");
    const second = await h.fake.session(1);
    const items = await waitUntil(
      () => second.events.filter((e) => e.type === "conversation.item.create").length === 3,
      { what: "re-seeded transcript" },
    ).then(() => second.events.filter((e) => e.type === "conversation.item.create"));
    assert.deepEqual(
      items.map((e) => {
        const item = e.item as { role: string; content: { type: string; text: string }[] };
        return [item.role, item.content[0].type, item.content[0].text];
      }),
      [
        ["assistant", "output_text", "Hello, how can I help you today?"],
        ["user", "input_text", "I need help with my bill"],
        ["assistant", "output_text", "Hello, how can I help you today?"],
      ],
    );
    client.media(callerFrame(7));
    await waitUntil(() => second.appended.length === 1, { what: "audio on the new session" });
    assert.ok(!second.events.items.some((e) => e.type === "response.create"), "no second greeting");
    assert.equal(second.errors.items.length, 0, JSON.stringify(second.errors.items));
    assert.ok(client.open);
    assert.equal(h.twilioApi.updates.items.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("a session that goes away with an answer asked for: the new session is asked again", async () => {
  const h = await startRealtime({ fake: { reply: { audioMs: 200, deltaMs: 100, speed: 8 } } });
  try {
    const client = await h.call();
    const first = await h.fake.session(0);
    const call = h.service.services.registry.list()[0] as RealtimeCall;
    await waitUntil(() => client.playedBytes() === 1600 && !call.playing, {
      what: "greeting heard in full",
    });
    first.goAwayOn = "response.create";
    client.dtmf("#");
    const second = await h.fake.session(1);
    const create = await second.events.waitFor((e) => e.type === "response.create", {
      what: "the answer asked of the new session",
    });
    const seeded = second.events.filter((e) => e.type === "conversation.item.create");
    assert.ok(second.events.items.indexOf(create) > second.events.items.indexOf(seeded.at(-1)!));
    const texts = seeded.map((e) => (e.item as { content: { text: string }[] }).content[0].text);
    assert.ok(texts.includes("[The caller pressed the keys: #]"), JSON.stringify(texts));
    await waitUntil(() => client.playedBytes() === 3200, { what: "the answer heard" });
    assert.equal(first.events.filter((e) => e.type === "response.create").length, 2);
    assert.equal(second.errors.items.length, 0, JSON.stringify(second.errors.items));
    assert.ok(client.open);
  } finally {
    await h.close();
  }
});

Deno.test("reconnects are capped: sessions gone before ready end in the fallback", async () => {
  const h = await startRealtime({ fake: { reply: { audioMs: 200, deltaMs: 100, speed: 8 } } });
  try {
    const client = await h.call();
    const first = await h.fake.session(0);
    await first.events.waitFor((e) => e.type === "response.create", { what: "greeting" });
    // Sessions that reach their limit after they were ready: the call goes on, however many.
    for (let i = 0; i < 4; i++) {
      await waitUntil(() => h.logs("realtime.ready").length === i + 1, { what: `ready ${i}` });
      (await h.fake.session(i)).close(1001, "going away");
    }
    // Each new session now goes away (1001) before it takes its configuration.
    for (let i = 4; i <= 6; i++) (await h.fake.session(i)).goAwayOn = "session.update";
    const update = await h.twilioApi.updates.waitFor(() => true, { what: "fallback redirect" });
    assert.match(update.twiml, /<Say>Sorry, something went wrong.*<\/Say><Hangup\/>/);
    await assertStreamClosed(h, client);
    // The count of reconnects starts again once a session is ready; the third in a row that
    // fails is the last: no eighth session.
    assert.deepEqual(h.logs("realtime.reconnect").map((l) => l.reconnects), [1, 1, 1, 1, 2, 3]);
    assert.equal(h.fake.upgrades.items.length, 7);
    assert.deepEqual(
      h.fake.sessions.items.map((s) => s.configured),
      [true, true, true, true, false, false, false],
    );
    assert.equal(h.logs("call.closed")[0].reason, "upstream-refused");
  } finally {
    await h.close();
  }
});

Deno.test("session_expired: the close that follows reconnects whatever its code", async () => {
  const h = await startRealtime({ fake: { reply: { audioMs: 200, deltaMs: 100, speed: 8 } } });
  try {
    const client = await h.call();
    const first = await h.fake.session(0);
    await first.events.waitFor((e) => e.type === "response.create", { what: "greeting" });
    await waitUntil(() => client.playedBytes() === 1600, { what: "greeting heard" });
    first.expire(1000, "");
    const second = await h.fake.session(1);
    await second.events.waitFor((e) => e.type === "session.update", { what: "new session" });
    client.media(callerFrame(3));
    await waitUntil(() => second.appended.length === 1, { what: "audio on the new session" });
    assert.ok(client.open);
    assert.equal(h.logs("realtime.reconnect")[0].expired, true);
    assert.equal(h.twilioApi.updates.items.length, 0, "no fallback");
  } finally {
    await h.close();
  }
});

Deno.test("planned renewal: a session near its limit is replaced between turns, never mid-reply", async () => {
  const clock = new FakeClock();
  const h = await startRealtime({
    clock,
    fake: { reply: { audioMs: 400, deltaMs: 100, speed: 1 } },
    env: {
      OPENAI_REALTIME_SESSION_SECONDS: "20",
      OPENAI_REALTIME_RENEW_SECONDS: "5",
      OPENAI_TIMEOUT_MS: "60000",
    },
  });
  try {
    const client = await h.call();
    const first = await h.fake.session(0);
    const bridge = h.service.services.registry.list()[0] as RealtimeCall;
    await first.events.waitFor((e) => e.type === "session.update", { what: "configured" });
    await waitUntil(() => bridge.playing, { what: "the greeting playing" });
    // Past the renewal point while the agent speaks: the session stays.
    clock.tick(15_000);
    assert.equal(h.fake.sessions.items.length, 1);
    assert.equal(bridge.stats.renewals, 0);
    await waitUntil(() => !bridge.playing && !first.activeResponse, { what: "greeting heard" });
    // The caller starts to speak before the next check: still no change of session.
    first.speechStarted();
    await waitUntil(() => bridge.callerSpeaking, { what: "the bridge hears the caller" });
    clock.tick(1000);
    assert.equal(bridge.stats.renewals, 0, "not while the caller speaks");
    first.speechStopped("one more thing");
    await waitUntil(() => first.sent.filter((t) => t === "response.done").length === 2, {
      what: "the answer sent",
    });
    await waitUntil(() => !bridge.playing, { what: "the answer heard" });
    // The next quiet check renews: a new session, configured and re-seeded; the old one closed.
    clock.tick(1000);
    const second = await h.fake.session(1);
    await first.closed;
    await waitUntil(
      () => second.events.filter((e) => e.type === "conversation.item.create").length === 3,
      { what: "the conversation re-seeded" },
    );
    assert.equal(bridge.stats.renewals, 1);
    assert.equal(h.logs("realtime.renew").length, 1);
    assert.ok(!second.events.items.some((e) => e.type === "response.create"), "no new greeting");
    client.media(callerFrame(9));
    await waitUntil(() => second.appended.includes(callerFrame(9)), { what: "audio goes on" });
    assert.deepEqual([first.errors.items, second.errors.items], [[], []]);
  } finally {
    await h.close();
  }
});
