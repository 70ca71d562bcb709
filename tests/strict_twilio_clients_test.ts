/**
 * The fake Twilio clients refuse what Twilio refuses, the way Twilio does: each is pointed at a
 * small app of the test's own on 127.0.0.1 that sends it messages Twilio's docs call invalid
 * (the rules and their sources are in `tests/fixtures/`).
 *
 * - ConversationRelay: an invalid message is not processed (an invalid `end` does not end the
 *   session), is recorded, and is answered with an `error` message (error 64107); ten invalid
 *   messages in a row close the socket with 1007 "Too many consecutive malformed messages.".
 * - Media Streams: an invalid message is not acted upon (no audio queued, no mark echoed,
 *   nothing cleared) and is recorded (warning 31951); the stream goes on.
 *
 * Either client's close then fails, and so does every harness's teardown: a test cannot pass
 * while the service sends what Twilio would refuse.
 */

import assert from "node:assert/strict";
import { EventLog, waitUntil } from "./fakes/event_log.ts";
import { MediaStreamsClient } from "./fakes/media_streams_client.ts";
import { MALFORMED_IN_A_ROW, RelayClient } from "./fakes/relay_client.ts";
import { CONVERSATION_RELAY, MEDIA_STREAMS } from "./fakes/twilio_frames.ts";

/** The app side of one socket: what it received, and the socket to send on. */
interface AppSocket {
  socket: WebSocket;
  received: EventLog<string>;
}

/** A WebSocket server standing for the app (the service) that Twilio connects to. */
async function withApp(fn: (url: string, sockets: EventLog<AppSocket>) => Promise<void>) {
  const sockets = new EventLog<AppSocket>();
  const closed: Promise<void>[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    const received = new EventLog<string>();
    socket.addEventListener("message", (ev) => received.push(String(ev.data)));
    closed.push(new Promise((resolve) => socket.addEventListener("close", () => resolve())));
    socket.addEventListener("open", () => sockets.push({ socket, received }));
    return response;
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, sockets);
  } finally {
    for (const { socket } of sockets.items) {
      if (socket.readyState === WebSocket.OPEN) socket.close(1000);
    }
    await Promise.all(closed);
    await server.shutdown();
  }
}

const AUTH = { authToken: "app-test-token" };

/** Messages the ConversationRelay docs' validation rules refuse, and why. */
const INVALID_RELAY: [string, RegExp][] = [
  ['{"type":"text","token":null,"last":true}', /"token" must be a string/],
  ['{"type":"text","last":true}', /missing required field "token"/],
  ['{"type":"text","token":"Hi","last":"true"}', /"last" must be true or false/],
  // The TwiML attribute takes none|dtmf|speech|any; the message's is a boolean.
  ['{"type":"text","token":"Hi","interruptible":"any"}', /"interruptible" must be true or false/],
  ['{"type":"text","token":"Hi","lang":"English"}', /"lang" must be a supported language/],
  ['{"type":"text","token":"Hi","interruptable":true}', /unexpected field "interruptable"/],
  ['{"type":"play","source":"not a url"}', /"source" must contain a valid URL/],
  ['{"type":"play","source":"https://a.example/x.mp3","loop":"2"}', /"loop" must be an integer/],
  ['{"type":"sendDigits","digits":""}', /"digits" cannot be null or empty/],
  ['{"type":"sendDigits","digits":"12a"}', /must only contain 0-9, w, # and \*/],
  ['{"type":"language"}', /either ttsLanguage or transcriptionLanguage/],
  ['{"type":"end","handoffData":{"reason":"x"}}', /"handoffData" must be a string/],
  ['{"type":"speak","text":"Hi"}', /unknown message type "speak"/],
  ['{"token":"Hi"}', /missing required field "type"/],
  ["not json", /not valid JSON/],
  ['["text"]', /not a JSON object/],
];

Deno.test("ConversationRelay fake: refused messages are dropped, recorded, answered", async () => {
  await withApp(async (url, sockets) => {
    const call = await RelayClient.connect(url, AUTH);
    const app = await sockets.waitFor(() => true, { what: "the socket" });
    // Each documented example of an app message is valid (the docs' own examples pass).
    for (const example of Object.values(CONVERSATION_RELAY.toTwilio)) {
      if (example.type !== "end") app.socket.send(JSON.stringify(example));
    }
    for (const [i, [frame]] of INVALID_RELAY.entries()) {
      app.socket.send(frame);
      // A valid message after each: none of these comes close to ten in a row.
      app.socket.send(JSON.stringify({ type: "text", token: `ok ${i}`, last: false }));
    }
    const last = `ok ${INVALID_RELAY.length - 1}`;
    await call.next((m) => m.token === last);
    // Not processed: none of them is in what the call received, only the valid ones are.
    const tokens = call.received.filter((m) => m.type === "text").map((m) => m.token);
    assert.deepEqual(tokens, ["Hello world!", ...INVALID_RELAY.map((_, i) => `ok ${i}`)]);
    assert.deepEqual(call.received.slice(0, 4).map((m) => m.type), [
      "text",
      "play",
      "sendDigits",
      "language",
    ]);
    // Recorded, each with why Twilio would refuse it.
    assert.equal(call.invalid.items.length, INVALID_RELAY.length);
    for (const [i, [frame, why]] of INVALID_RELAY.entries()) {
      assert.equal(call.invalid.items[i].raw, frame);
      assert.match(call.invalid.items[i].problem, why, frame);
    }
    // Answered as Twilio answers: an `error` naming the message, the socket still open (the
    // invalid `end` did not end the session).
    await waitUntil(() => app.received.items.length >= INVALID_RELAY.length, {
      what: "the errors",
    });
    const errors = app.received.items.map((m) => JSON.parse(m));
    assert.equal(errors.length, INVALID_RELAY.length);
    for (const [i, error] of errors.entries()) {
      assert.deepEqual(Object.keys(error), Object.keys(CONVERSATION_RELAY.fromTwilio.error));
      assert.equal(error.description, `Invalid message received: ${INVALID_RELAY[i][0]}`);
    }
    assert.equal(call.socket.readyState, WebSocket.OPEN);
    // A valid `end` does end it.
    app.socket.send(JSON.stringify(CONVERSATION_RELAY.toTwilio.end));
    assert.equal((await call.closed).code, 1000);
    await assert.rejects(call.hangUp(), /sent 16 message\(s\) Twilio would refuse \(error 64107\)/);
  });
});

Deno.test("ConversationRelay fake: ten invalid in a row close the socket (1007)", async () => {
  await withApp(async (url, sockets) => {
    const call = await RelayClient.connect(url, AUTH);
    const app = await sockets.waitFor(() => true, { what: "the socket" });
    const closedByTwilio = new Promise<CloseEvent>((resolve) =>
      app.socket.addEventListener("close", (ev) => resolve(ev))
    );
    // Nine, a valid one (the count starts over), then ten.
    for (let i = 0; i < MALFORMED_IN_A_ROW - 1; i++) app.socket.send(`{"type":"txt","n":${i}}`);
    app.socket.send(JSON.stringify({ type: "text", token: "still here", last: true }));
    await call.next((m) => m.token === "still here");
    assert.equal(call.socket.readyState, WebSocket.OPEN, "nine in a row do not close it");
    for (let i = 0; i < MALFORMED_IN_A_ROW; i++) app.socket.send(`{"type":"txt","n":${i}}`);
    const close = await closedByTwilio;
    assert.equal(close.code, 1007);
    assert.equal(close.reason, "Too many consecutive malformed messages.");
    assert.equal(call.invalid.items.length, 2 * MALFORMED_IN_A_ROW - 1);
    await assert.rejects(call.hangUp(), /Twilio would refuse/);
  });
});

/** Messages a bidirectional Media Stream does not act upon, and why (`SID` is the stream's). */
const INVALID_STREAM: [string, RegExp][] = [
  ['{"event":"media","streamSid":"MZother","media":{"payload":"AAAA"}}', /not this stream's/],
  ['{"event":"media","media":{"payload":"AAAA"}}', /missing required field "streamSid"/],
  ['{"event":"media","streamSid":"SID","media":{"payload":"AA=A"}}', /non-empty base64/],
  ['{"event":"media","streamSid":"SID","media":{"payload":"AAA"}}', /non-empty base64/],
  ['{"event":"media","streamSid":"SID","media":{"payload":""}}', /non-empty base64/],
  [
    '{"event":"media","streamSid":"SID","media":{"track":"outbound","payload":"AAAA"}}',
    /exactly one field, "payload"/,
  ],
  ['{"event":"media","streamSid":"SID","payload":"AAAA"}', /unexpected field "payload"/],
  ['{"event":"mark","streamSid":"SID","mark":{}}', /exactly one field, "name"/],
  ['{"event":"mark","streamSid":"SID","mark":{"name":""}}', /non-empty string/],
  ['{"event":"mark","streamSid":"SID"}', /missing required field "mark"/],
  ['{"event":"clear","streamSid":"SID","clear":{}}', /unexpected field "clear"/],
  ['{"event":"stop","streamSid":"SID"}', /unknown event "stop"/],
  ['{"streamSid":"SID"}', /missing required field "event"/],
  ["{media}", /not valid JSON/],
];

Deno.test("Media Streams fake: invalid messages are recorded and change nothing", async () => {
  await withApp(async (url, sockets) => {
    const client = await MediaStreamsClient.connect(url, { keepAudio: true, path: "/stream" });
    const app = await sockets.waitFor(() => true, { what: "the socket" });
    client.start();
    await app.received.waitFor((m) => m.includes('"start"'), { what: "start" });
    const sid = client.streamSid;
    // Queue real audio and a mark first, so an invalid clear or mark would show.
    const audio = btoa(String.fromCharCode(...new Uint8Array(160).fill(0x7f)));
    app.socket.send(JSON.stringify({ event: "media", streamSid: sid, media: { payload: audio } }));
    for (const [frame] of INVALID_STREAM) app.socket.send(frame.replaceAll('"SID"', `"${sid}"`));
    app.socket.send(new Uint8Array([1, 2, 3]));
    app.socket.send(JSON.stringify({ event: "mark", streamSid: sid, mark: { name: "m1" } }));
    // The stream goes on: the valid mark after them all is echoed once its audio has played.
    await client.echoes.waitFor((name) => name === "m1", { what: "the valid mark's echo" });
    assert.equal(client.receivedBytes, 160, "only the valid audio was queued");
    assert.equal(client.audio.length, 1);
    assert.deepEqual(client.echoes.items, ["m1"], "no invalid mark was echoed");
    assert.equal(client.clears.items.length, 0, "the invalid clear cleared nothing");
    assert.equal(client.invalid.items.length, INVALID_STREAM.length + 1);
    for (const [i, [frame, why]] of INVALID_STREAM.entries()) {
      assert.equal(client.invalid.items[i].raw, frame.replaceAll('"SID"', `"${sid}"`));
      assert.match(client.invalid.items[i].problem, why, frame);
    }
    assert.match(client.invalid.items.at(-1)!.problem, /binary frame/);
    assert.ok(client.open, "the stream is not closed for it");
    // The documented app → Twilio examples are valid, with this stream's SID.
    for (const example of Object.values(MEDIA_STREAMS.toTwilio)) {
      const filled: Record<string, unknown> = { ...example, streamSid: sid };
      if (filled.event === "media") filled.media = { payload: audio };
      app.socket.send(JSON.stringify(filled));
    }
    await client.clears.waitFor(() => true, { what: "the documented clear" });
    assert.equal(client.invalid.items.length, INVALID_STREAM.length + 1);
    await waitUntil(() => client.echoes.items.includes("my label"), { what: "the label's echo" });
    await assert.rejects(client.close(), /sent 15 message\(s\) Twilio would not act upon/);
  });
});
