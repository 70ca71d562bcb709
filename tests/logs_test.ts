/**
 * Logs: one JSON line per event, each of a call's lines with its call SID, and never a secret, a
 * piece of audio or a whole phone number in them.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { replyAudio } from "./fakes/realtime_replies.ts";
import { callerFrame, startRealtime } from "./helpers/realtime_harness.ts";
import { relayHarness } from "./helpers/relay_harness.ts";
import { TEST_AUTH_TOKEN } from "./helpers/service.ts";
import { waitUntil } from "./fakes/event_log.ts";

const SECRETS = {
  API_TOKEN: "api-token-very-secret-1",
  TOOLS_SIGNING_SECRET: "tools-hmac-very-secret-2",
};
const CALLER = "+15550100123";

/** Per-call events: everything a session logs once it knows its call. */
const CALL_EVENT = /^(call|relay|realtime|tool|llm)\./;

function checkLines(lines: Record<string, unknown>[], secrets: string[], audio: string[]): void {
  assert.ok(lines.length > 5, "the call logged its events");
  // Before `setup`/`start` the call's SID is not known yet.
  const started = lines.findIndex((l) => l.event === "call.start");
  assert.ok(started >= 0);
  for (const [index, line] of lines.entries()) {
    const text = JSON.stringify(line);
    assert.equal(typeof line.time, "string");
    assert.equal(typeof line.level, "string");
    assert.equal(typeof line.event, "string");
    for (const secret of secrets) assert.ok(!text.includes(secret), `secret in ${text}`);
    assert.ok(!text.includes(CALLER), `full phone number in ${text}`);
    assert.ok(!text.includes(CALLER.slice(1, 8)), `most of a phone number in ${text}`);
    for (const chunk of audio) assert.ok(!text.includes(chunk), `audio in ${text}`);
    if (index >= started && CALL_EVENT.test(String(line.event))) {
      assert.ok(line.callSid, `no callSid on ${text}`);
    }
  }
  const start = lines.find((l) => l.event === "call.start");
  if (start?.from) assert.equal(start.from, "+*******0123");
}

Deno.test("relay call logs: call SID on every line, no secrets, numbers masked", async () => {
  const h = await relayHarness({ ...SECRETS, LOG_LEVEL: "debug", WELCOME_GREETING: "" });
  try {
    h.fake.script(
      { toolCalls: [{ name: "send_dtmf", arguments: '{"digits":"1234"}' }] },
      { tokens: ["Done."] },
      { status: 500 },
    );
    const call = await h.call();
    call.prompt("my PIN is on the keypad");
    await call.turn();
    call.dtmf("9");
    call.dtmf("#");
    await call.turn();
    call.sendRaw("{garbage");
    await call.hangUp();
    await waitUntil(() => h.svc.logs.some((l) => l.event === "call.closed"), { what: "closed" });
    checkLines(
      h.svc.logs.filter((l) => l.sessionId),
      [h.fake.apiKey, TEST_AUTH_TOKEN, ...Object.values(SECRETS)],
      [],
    );
    assert.ok(h.svc.logs.every((l) => !JSON.stringify(l).includes("1234")), "no key presses");
  } finally {
    await h.close();
  }
});

Deno.test("realtime call logs: call SID on every line, no audio, no secrets", async () => {
  const h = await startRealtime({
    env: { ...SECRETS, LOG_LEVEL: "debug" },
    fake: { reply: { audioMs: 300, deltaMs: 100, speed: 8 } },
  });
  try {
    const client = await h.call({ start: false });
    await h.start(client, { agent: "default", from: CALLER });
    const frames = [callerFrame(1), callerFrame(2), callerFrame(3)];
    for (const frame of frames) client.media(frame);
    await client.echoes.waitFor(() => client.playedBytes() >= 2400, { what: "greeting played" });
    client.sendRaw('{"event":"media","media":{"payload":"@@@"}}');
    client.stop();
    await client.close();
    await waitUntil(() => h.logs("call.closed").length === 1, { what: "closed" });
    const reply = Buffer.from(replyAudio(1, 800)).toString("base64");
    checkLines(
      h.service.logs.filter((l) => l.sessionId),
      ["sk-test-realtime", TEST_AUTH_TOKEN, ...Object.values(SECRETS)],
      [...frames.map((f) => f.slice(0, 40)), reply.slice(0, 40)],
    );
  } finally {
    await h.close();
  }
});
