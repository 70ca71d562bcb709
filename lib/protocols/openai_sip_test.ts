/**
 * SIP calls' protocol pieces: our headers read back from `sip_headers` (any case, decoded),
 * webhook events by surface, both accept bodies, and the `<Dial><Sip>` TwiML with its X-headers.
 */

import assert from "node:assert/strict";
import { liveAccept, realtimeAccept, sipCallData, sipWebhookEvent } from "./openai_sip.ts";
import { openAiSipUri, sipDialTwiml } from "./twiml.ts";

const SESSION = {
  model: "m",
  voice: "coral",
  instructions: "Be kind.",
  tools: [{ name: "end_call", description: "Ends.", parameters: { type: "object" } }],
  delegationModel: "gpt-4.1-mini",
};

Deno.test("sipCallData: our X-headers in any case, URI-decoded; missing ones empty", () => {
  const data = sipCallData([
    { name: "x-callbridge-agent", value: "appointments" },
    { name: "X-Callbridge-From", value: "%2B15550100123" },
    { name: "X-Other", value: "ignored" },
  ]);
  assert.deepEqual(data, {
    agent: "appointments",
    callSid: "",
    from: "+15550100123",
    to: "",
    direction: "",
    token: "",
    reference: "",
  });
});

Deno.test("sipWebhookEvent: Live and Realtime incoming calls; any other event", () => {
  const headers = [{ name: "X-Callbridge-Agent", value: "a" }];
  const live = sipWebhookEvent({
    id: "e",
    created_at: 0,
    type: "live.transport.incoming",
    data: { type: "sip", session_id: "sess_1", sip_headers: headers },
  });
  assert.equal(
    live.kind === "incoming" && `${live.surface}:${live.id}:${live.data.agent}`,
    "live:sess_1:a",
  );
  const realtime = sipWebhookEvent({
    id: "e",
    created_at: 0,
    type: "realtime.call.incoming",
    data: { call_id: "rtc_1", sip_headers: headers },
  });
  assert.equal(
    realtime.kind === "incoming" && `${realtime.surface}:${realtime.id}`,
    "realtime:rtc_1",
  );
  const other = sipWebhookEvent({
    id: "e",
    created_at: 0,
    type: "batch.completed",
    data: { id: "b" },
  });
  assert.deepEqual(other, { kind: "other", type: "batch.completed" });
});

Deno.test("accept bodies: Live with delegated tools, Realtime with tools; no audio format", () => {
  const live = liveAccept(SESSION);
  assert.equal(live.session.type, "live");
  assert.deepEqual(live.session.audio, { output: { voice: "coral" } });
  assert.equal(live.session.delegation?.type, "responses");
  const realtime = realtimeAccept(SESSION);
  assert.equal(realtime.type, "realtime");
  assert.deepEqual(realtime.tools?.map((t) => "name" in t && t.name), ["end_call"]);
  assert.equal(realtime.tool_choice, "auto");
  assert.equal(realtimeAccept({ ...SESSION, tools: [] }).tools, undefined);
});

Deno.test("sipDialTwiml: the project's TLS URI with the X-headers as its query", () => {
  assert.equal(openAiSipUri("proj_1"), "sip:proj_1@sip.api.openai.com;transport=tls");
  const twiml = sipDialTwiml(openAiSipUri("proj_1"), {
    "X-Callbridge-Agent": "a b",
    "X-Callbridge-From": "+1555",
    "X-Callbridge-Reference": "",
  });
  assert.match(
    twiml,
    /<Dial><Sip>sip:proj_1@sip\.api\.openai\.com;transport=tls\?X-Callbridge-Agent=a%20b&amp;X-Callbridge-From=%2B1555<\/Sip><\/Dial>/,
  );
});
