/**
 * Recordings (`record: true` in the profile) against the fake Twilio REST API through the real
 * `twilio` SDK: an inbound call is recorded in two channels once its socket starts, an outbound
 * one by `calls.create`; the signed `recordingStatusCallback` puts the recording on the record;
 * the call page plays it through the admin route, which streams Twilio's WAV with the account's
 * credentials and no Twilio URL, header or credential for the browser; the API serves it too,
 * the webhook links it, and deleting the call deletes it at Twilio.
 */

import assert from "node:assert/strict";
import { fakeWav } from "./fakes/fake_twilio_api.ts";
import { WebhookReceiver } from "./fakes/webhook_receiver.ts";
import { agentsWithAnalysis } from "./helpers/after_call.ts";
import { eventually, relayHarness } from "./helpers/relay_harness.ts";
import { postSigned, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN } from "./helpers/service.ts";

const TOKEN = "api-token-recording-9c0d";

function recordingCallback(
  url: string,
  fields: { callSid: string; recordingSid: string; status: string; duration?: string },
  options: { signature?: string | null } = {},
): Promise<Response> {
  return postSigned(`${url}/twilio/recording`, {
    AccountSid: TEST_ACCOUNT_SID,
    CallSid: fields.callSid,
    RecordingSid: fields.recordingSid,
    RecordingUrl:
      `https://api.twilio.com/2010-04-01/Accounts/${TEST_ACCOUNT_SID}/Recordings/${fields.recordingSid}`,
    RecordingStatus: fields.status,
    RecordingDuration: fields.duration ?? "",
    RecordingChannels: "2",
    RecordingSource: "StartCallRecordingAPI",
    RecordingStartTime: new Date().toUTCString(),
    RecordingTrack: "both",
  }, options);
}

Deno.test("an inbound call is recorded, played through the admin route, linked, deleted", async () => {
  const receiver = new WebhookReceiver(null);
  const dir = await agentsWithAnalysis({ record: true });
  const h = await relayHarness({
    AGENTS_DIR: dir,
    API_TOKEN: TOKEN,
    CALL_WEBHOOK_URL: receiver.url,
  });
  try {
    const call = await h.call({ agent: "clinic" });
    call.prompt("Hello");
    await call.turn();
    const recording = await h.twilioApi.recordings.waitFor((r) => r.callSid === call.callSid, {
      what: "calls(sid).recordings.create",
    });
    assert.equal(recording.channels, "dual");
    assert.equal(recording.statusCallback, `${h.svc.url}/twilio/recording`);
    assert.deepEqual(recording.statusCallbackEvents, ["in-progress", "completed", "absent"]);

    // Malformed or unsigned callbacks are refused; Twilio's own are stored.
    const unsigned = await recordingCallback(h.svc.url, {
      callSid: call.callSid,
      recordingSid: recording.sid,
      status: "completed",
    }, { signature: "bogus" });
    assert.equal(unsigned.status, 403);
    await unsigned.body?.cancel();
    const bad = await recordingCallback(h.svc.url, {
      callSid: call.callSid,
      recordingSid: recording.sid,
      status: "exploded",
    });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    for (const [status, duration] of [["in-progress", ""], ["completed", "12"]]) {
      const res = await recordingCallback(h.svc.url, {
        callSid: call.callSid,
        recordingSid: recording.sid,
        status,
        duration,
      });
      assert.equal(res.status, 204);
    }
    // A late in-progress callback (Twilio does not promise order) does not undo completed.
    const late = await recordingCallback(h.svc.url, {
      callSid: call.callSid,
      recordingSid: recording.sid,
      status: "in-progress",
    });
    assert.equal(late.status, 204);
    const store = h.svc.services.records.store;
    const [record] = await store.findBySid(call.callSid);
    assert.deepEqual(
      { ...record.recording, updatedAt: 0 },
      { sid: recording.sid, status: "completed", durationSeconds: 12, channels: 2, updatedAt: 0 },
    );
    await call.hangUp();

    // The page's player points at the admin route, never at Twilio.
    const page = await (await fetch(`${h.svc.url}/calls/${call.callSid}`)).text();
    assert.match(
      page,
      new RegExp(`<audio controls preload="metadata" src="/calls/${call.callSid}/recording"`),
    );
    assert.match(page, /completed<\/span> · 12 s · 2 channels/);
    assert.ok(!page.includes("api.twilio.com") && !page.includes(h.twilioApi.authToken));
    const media = await fetch(`${h.svc.url}/calls/${call.callSid}/recording`);
    assert.equal(media.status, 200);
    assert.equal(media.headers.get("content-type"), "audio/x-wav");
    assert.equal(media.headers.get("x-twilio-internal"), null, "only the media's own headers");
    assert.deepEqual(new Uint8Array(await media.arrayBuffer()), fakeWav(2));
    const fetched = h.twilioApi.mediaRequests.at(-1)!;
    assert.equal(fetched.authorization, `Basic ${btoa(`${TEST_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`)}`);
    const part = await fetch(`${h.svc.url}/calls/${call.callSid}/recording`, {
      headers: { range: "bytes=0-43" },
    });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), `bytes 0-43/${fakeWav(2).length}`);
    assert.equal(new TextDecoder().decode((await part.arrayBuffer()).slice(0, 4)), "RIFF");

    // The API serves it with the bearer token; the webhook and the API link it.
    const unauthorized = await fetch(`${h.svc.url}/api/calls/${call.callSid}/recording`);
    assert.equal(unauthorized.status, 401);
    await unauthorized.body?.cancel();
    const viaApi = await fetch(`${h.svc.url}/api/calls/${call.callSid}/recording`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(viaApi.status, 200);
    assert.equal((await viaApi.arrayBuffer()).byteLength, fakeWav(2).length);
    const hook = await receiver.deliveries.waitFor(() => true, { what: "the webhook" });
    assert.deepEqual(hook.json.recording, {
      sid: recording.sid,
      status: "completed",
      durationSeconds: 12,
      channels: 2,
      url: `${h.svc.url}/api/calls/${call.callSid}/recording`,
    });

    // Deleting the call deletes the recording at Twilio.
    const deleted = await fetch(`${h.svc.url}/api/calls/${call.callSid}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.deepEqual(await deleted.json(), { deleted: 1, recordings: 1 });
    assert.equal(recording.deleted, true);
    const after = await fetch(`${h.svc.url}/calls/${call.callSid}/recording`);
    assert.equal(after.status, 404);
    await after.body?.cancel();
  } finally {
    await h.close();
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("outbound calls are recorded by calls.create; without record nothing is", async () => {
  const dir = await agentsWithAnalysis({ record: true });
  const h = await relayHarness({ AGENTS_DIR: dir, API_TOKEN: TOKEN });
  try {
    for (const agent of ["clinic", "default"]) {
      const res = await fetch(`${h.svc.url}/api/calls`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ to: "+15550100444", agent }),
      });
      assert.equal(res.status, 201);
      await res.body?.cancel();
    }
    const [clinic, other] = h.twilioApi.calls.items;
    assert.equal(clinic.record, true);
    assert.equal(clinic.recordingChannels, "dual");
    assert.equal(clinic.recordingStatusCallback, `${h.svc.url}/twilio/recording`);
    assert.deepEqual(clinic.recordingStatusCallbackEvents, ["in-progress", "completed", "absent"]);
    assert.equal(other.record, false);
    assert.equal(other.recordingStatusCallback, null);

    // An inbound call to an agent without `record` starts no recording.
    const call = await h.call({ agent: "default" });
    call.prompt("Hi");
    await call.turn();
    await call.hangUp();
    await eventually(
      async () =>
        (await h.svc.services.records.store.findBySid(call.callSid))[0]?.outcome !== "live",
      "the call's end",
    );
    assert.equal(h.twilioApi.recordings.items.length, 0);
    const none = await fetch(`${h.svc.url}/calls/${call.callSid}/recording`);
    assert.equal(none.status, 404);
    await none.body?.cancel();
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});
