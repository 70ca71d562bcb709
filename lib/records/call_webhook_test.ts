/**
 * The webhook's payload, built from a call's detail: ISO times, only tool events as tool calls,
 * usage, the analysis as stored, and the recording's link on the service's own API.
 */

import assert from "node:assert/strict";
import { newCallRecord } from "./call_store.ts";
import { webhookPayload } from "./call_webhook.ts";

const record = {
  ...newCallRecord({
    id: "rec-1",
    callSid: "CA1",
    mode: "relay",
    agent: "clinic",
    direction: "inbound",
    from: "+15550100123",
    to: "+15550100999",
    startedAt: Date.UTC(2026, 0, 1, 12, 0, 0),
  }),
  endedAt: Date.UTC(2026, 0, 1, 12, 1, 0),
  outcome: "caller-hangup",
  toolCalls: 1,
};

Deno.test("the payload: metadata, transcript, tool calls only, usage, analysis, recording", () => {
  const payload = webhookPayload({
    record: {
      ...record,
      recording: {
        sid: "RE1",
        status: "completed",
        durationSeconds: 60,
        channels: 2,
        updatedAt: 0,
      },
    },
    transcript: [{
      seq: 1,
      role: "agent",
      text: "Hello",
      at: Date.UTC(2026, 0, 1, 12, 0, 1),
      interrupted: { heardChars: 3 },
    }],
    events: [
      { seq: 2, at: Date.UTC(2026, 0, 1, 12, 0, 2), type: "tool", summary: "end_call", data: {} },
      { seq: 3, at: Date.UTC(2026, 0, 1, 12, 0, 3), type: "interrupt", summary: "cut" },
    ],
    latencies: [],
  }, "https://bridge.example.com");
  assert.equal(payload.startedAt, "2026-01-01T12:00:00.000Z");
  assert.equal(payload.answeredAt, null);
  assert.equal(payload.endReason, "caller-hangup");
  assert.deepEqual(payload.transcript, [{
    role: "agent",
    text: "Hello",
    at: "2026-01-01T12:00:01.000Z",
    interrupted: { heardChars: 3 },
  }]);
  assert.deepEqual(payload.toolCalls, [
    { at: "2026-01-01T12:00:02.000Z", summary: "end_call", data: {} },
  ]);
  assert.equal((payload.usage as { toolCalls: number }).toolCalls, 1);
  assert.equal(payload.analysis, null);
  assert.deepEqual(payload.recording, {
    sid: "RE1",
    status: "completed",
    durationSeconds: 60,
    channels: 2,
    url: "https://bridge.example.com/api/calls/CA1/recording",
  });
});

Deno.test("no recording: null; no public URL: a recording without a link", () => {
  const detail = { record, transcript: [], events: [], latencies: [] };
  assert.equal(webhookPayload(detail, "https://x.example").recording, null);
  const recorded = {
    ...detail,
    record: {
      ...record,
      recording: {
        sid: "RE1",
        status: "in-progress",
        durationSeconds: null,
        channels: null,
        updatedAt: 0,
      },
    },
  };
  assert.equal((webhookPayload(recorded, null).recording as { url: unknown }).url, null);
});
