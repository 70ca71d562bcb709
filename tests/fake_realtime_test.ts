/**
 * The fake Realtime server follows the API where the service's tests lean on it: it transcribes
 * the caller only for a session that asked (`audio.input.transcription`, null by default), and
 * its checks are the SDK's (a voice of the SDK's list or a custom voice `{ id }`), not the
 * service's own; an append's audio must be base64. A raw client sends the SDK's client events
 * (typed `RealtimeClientEvent`).
 */

import assert from "node:assert/strict";
import type {
  RealtimeClientEvent,
  RealtimeSessionCreateRequest,
} from "openai/resources/realtime/realtime";
import { EventLog, waitUntil } from "./fakes/event_log.ts";
import { FakeRealtime } from "./fakes/fake_realtime.ts";
import type { FakeRealtimeSession } from "./fakes/fake_realtime_session.ts";

type Json = Record<string, unknown>;

/** A client of the fake speaking the SDK's client events, and the session the fake made. */
interface RawClient {
  send(event: RealtimeClientEvent): void;
  /** Sends a text frame as is. */
  sendRaw(text: string): void;
  events: EventLog<Json>;
  session: FakeRealtimeSession;
}

/** Runs `fn` with a raw client of a fresh fake (what the service's upstream socket would be). */
async function withClient(fn: (client: RawClient) => Promise<void>): Promise<void> {
  const fake = new FakeRealtime();
  const url = `${fake.start().replace(/^http/, "ws")}/realtime?model=gpt-realtime`;
  const ws =
    new (WebSocket as unknown as new (url: string, o: { headers: HeadersInit }) => WebSocket)(
      url,
      { headers: { Authorization: "Bearer sk-test-fake" } },
    );
  const events = new EventLog<Json>();
  ws.addEventListener("message", (ev) => events.push(JSON.parse(String(ev.data))));
  const closed = new Promise((resolve) => ws.addEventListener("close", resolve));
  try {
    await events.waitFor((e) => e.type === "session.created", { what: "session.created" });
    const session = await fake.session();
    const sendRaw = (text: string) => ws.send(text);
    await fn({ send: (event) => sendRaw(JSON.stringify(event)), sendRaw, events, session });
  } finally {
    ws.close();
    await closed;
    await fake.close();
  }
}

/** `session.update` with µ-law both ways, and `audio.input`/`audio.output` over that. */
function update(
  input: Partial<NonNullable<RealtimeSessionCreateRequest["audio"]>["input"]> = {},
  output: Partial<NonNullable<RealtimeSessionCreateRequest["audio"]>["output"]> = {},
): RealtimeClientEvent {
  return {
    type: "session.update",
    session: {
      type: "realtime",
      output_modalities: ["audio"],
      audio: {
        input: { format: { type: "audio/pcmu" }, ...input },
        output: { format: { type: "audio/pcmu" }, ...output },
      },
    },
  };
}

/** Sends a `session.update` and waits for its `session.updated`. */
async function configure(client: RawClient, event: RealtimeClientEvent): Promise<void> {
  const from = client.events.items.length;
  client.send(event);
  await client.events.waitFor((e) => e.type === "session.updated" || e.type === "error", {
    what: "the update's answer",
    from,
  });
  assert.deepEqual(client.session.errors.items, [], "the update was accepted");
}

/** The caller speaks and stops: the server events of that turn, to its reply's end. */
async function turn(client: RawClient, transcript: string): Promise<Json[]> {
  const from = client.events.items.length;
  client.session.speechStarted();
  client.session.speechStopped(transcript);
  await client.events.waitFor((e) => e.type === "response.done", {
    what: "the turn's response.done",
    from,
  });
  return client.events.items.slice(from);
}

const TRANSCRIBED = "conversation.item.input_audio_transcription.completed";

Deno.test("fake Realtime: the caller is transcribed only while the session asks for it", async () => {
  await withClient(async (client) => {
    await configure(client, update());
    const untranscribed = await turn(client, "no one asked");
    assert.deepEqual(untranscribed.filter((e) => e.type === TRANSCRIBED), []);
    assert.ok(untranscribed.some((e) => e.type === "input_audio_buffer.committed"));

    await configure(client, update({ transcription: { model: "gpt-4o-mini-transcribe" } }));
    const transcribed = (await turn(client, "now transcribe me")).filter((e) =>
      e.type === TRANSCRIBED
    );
    assert.equal(transcribed.length, 1);
    assert.equal(transcribed[0].transcript, "now transcribe me");
    assert.equal(client.session.transcriptionModel, "gpt-4o-mini-transcribe");

    // An update that leaves the field out keeps the transcription; null turns it off.
    await configure(client, {
      type: "session.update",
      session: { type: "realtime", instructions: "Be brief." },
    });
    const kept = await turn(client, "still on");
    assert.equal(kept.filter((e) => e.type === TRANSCRIBED).length, 1);
    // The SDK's doc of the field: "can be set to `null` to turn off once on" (its type has none).
    await configure(client, update({ transcription: null as unknown as undefined }));
    const off = await turn(client, "off again");
    assert.deepEqual(off.filter((e) => e.type === TRANSCRIBED), []);
    assert.deepEqual(client.session.errors.items, []);
  });
});

Deno.test("fake Realtime: an append's audio is taken when base64 and refused once when not", async () => {
  await withClient(async (client) => {
    await configure(client, update());
    const head = '{"type":"input_audio_buffer.append","audio":"';
    client.sendRaw(`${head}AAEC"}`); // the service's shape: read without a parse
    client.sendRaw(`${head}AA\\/+"}`); // an escaped "/": parsed, then taken as "AA/+"
    client.sendRaw(`${head}not base64!"}`);
    client.send({ type: "input_audio_buffer.append", audio: 7 as unknown as string });
    client.send({ type: "input_audio_buffer.append", audio: "AAEC" });
    await client.session.errors.waitFor(() => true, { what: "the second refusal", from: 1 });
    await waitUntil(() => client.session.appended.length === 3, { what: "three appends taken" });
    assert.deepEqual(client.session.appended, ["AAEC", "AA/+", "AAEC"]);
    assert.deepEqual(
      client.session.errors.items.map((e) => [e.code, e.message, e.cause]),
      [
        ["invalid_value", "Invalid 'audio'. Expected base64.", "input_audio_buffer.append"],
        ["invalid_value", "Invalid 'audio'. Expected base64.", "input_audio_buffer.append"],
      ],
    );
  });
});

Deno.test("fake Realtime: a voice is one of the SDK's built-in ones or a custom { id }", async () => {
  await withClient(async (client) => {
    // Built-in voices, as the SDK types them, and a custom one.
    for (const voice of ["alloy", "ballad", "verse", "cedar"]) {
      await configure(client, update({}, { voice }));
    }
    await configure(client, update({}, { voice: { id: "voice_1234" } }));
    const refused = async (voice: unknown) => {
      const from = client.session.errors.items.length;
      client.send(update({}, { voice: voice as string }));
      const error = await client.session.errors.waitFor(() => true, { what: "refusal", from });
      return [error.code, error.param];
    };
    assert.deepEqual(await refused("nova"), ["invalid_value", "session.audio.output.voice"]);
    assert.deepEqual(await refused({ name: "mine" }), [
      "unknown_parameter",
      "session.audio.output.voice.name",
    ]);
    assert.deepEqual(await refused({}), [
      "missing_required_parameter",
      "session.audio.output.voice.id",
    ]);
    assert.deepEqual(await refused(7), ["invalid_type", "session.audio.output.voice"]);
  });
});
