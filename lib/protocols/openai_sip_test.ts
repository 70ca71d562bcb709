/**
 * SIP calls' protocol pieces: our headers read back from `sip_headers` (any case, decoded),
 * webhook events by surface, both accept bodies, and the `<Dial><Sip>` TwiML with its X-headers.
 */

import assert from "node:assert/strict";
import {
  liveAccept,
  realtimeAccept,
  sipCallData,
  sipHeaderNumber,
  sipWebhookEvent,
} from "./openai_sip.ts";
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

Deno.test("sipCallData: every one of our headers, each to its field; a bad escape kept as sent", () => {
  const data = sipCallData([
    { name: "X-Callbridge-Agent", value: "sales" },
    { name: "X-Callbridge-Call-Sid", value: "CA1" },
    { name: "X-Callbridge-From", value: "+15550100123" },
    { name: "X-Callbridge-To", value: "+15550100999" },
    { name: "X-Callbridge-Direction", value: "outbound-api" },
    { name: "X-Callbridge-Token", value: "cbcall.x%E0y" },
    { name: "X-Callbridge-Reference", value: "ref%201" },
  ]);
  assert.deepEqual(data, {
    agent: "sales",
    callSid: "CA1",
    from: "+15550100123",
    to: "+15550100999",
    direction: "outbound-api",
    token: "cbcall.x%E0y",
    reference: "ref 1",
  });
});

Deno.test("sipCallData: a trunk call's numbers come from the INVITE's From and To", () => {
  // The headers of realtime.call.incoming in OpenAI's SIP guide, as an Elastic SIP Trunk sends them.
  const trunk = [
    { name: "Max-Forwards", value: "63" },
    { name: "To", value: "<sip:+15550100999@sip.api.openai.com>" },
    { name: "From", value: '"+15550100123" <sip:+15550100123@example.pstn.twilio.com>;tag=6C1E' },
    { name: "Call-ID", value: "03782086-4ce9-44bf-8b0d-4e303d2cc590" },
  ];
  const data = sipCallData(trunk);
  assert.equal(data.from, "+15550100123");
  assert.equal(data.to, "+15550100999");
  assert.equal(data.agent, "");
  // Our own headers win over the INVITE's.
  const dialled = sipCallData([...trunk, { name: "X-Callbridge-To", value: "%2B15550100777" }]);
  assert.equal(dialled.to, "+15550100777");
});

Deno.test("sipHeaderNumber: the user part when it is a number, whatever the URI's form", () => {
  const cases: [string, string][] = [
    ["<sip:+15550100123@pstn.twilio.com>", "+15550100123"],
    ['"Ann" <sips:+15550100123@host;transport=tls>;tag=1', "+15550100123"],
    ["sip:15550100123@host;user=phone", "15550100123"],
    ["<tel:+1-555-010-0123;phone-context=x>", "+15550100123"],
    ["<sip:%2B15550100123@host>", "+15550100123"],
    ['"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1', ""],
    ["<sip:host.example.com>", ""],
    ["", ""],
  ];
  for (const [header, number] of cases) assert.equal(sipHeaderNumber(header), number, header);
});

Deno.test("sipWebhookEvent: Live and Realtime incoming calls; any other event", () => {
  const headers = [{ name: "X-Callbridge-Agent", value: "a" }];
  const live = sipWebhookEvent({
    id: "e",
    created_at: 0,
    type: "live.transport.incoming",
    data: { type: "sip", session_id: "live_1", sip_headers: headers },
  });
  assert.equal(
    live.kind === "incoming" && `${live.surface}:${live.id}:${live.data.agent}`,
    "live:live_1:a",
  );
  const realtime = sipWebhookEvent({
    id: "e",
    created_at: 0,
    type: "realtime.call.incoming",
    data: { call_id: "rtc_1", sip_headers: headers },
  });
  assert.equal(
    realtime.kind === "incoming" && `${realtime.surface}:${realtime.id}:${realtime.data.agent}`,
    "realtime:rtc_1:a",
  );
  // The Live event's deprecated name means the same.
  const deprecated = sipWebhookEvent({
    id: "e",
    created_at: 0,
    type: "live.call.incoming",
    data: { session_id: "live_2", sip_headers: headers },
  });
  assert.equal(
    deprecated.kind === "incoming" && `${deprecated.surface}:${deprecated.id}`,
    "live:live_2",
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
  assert.equal(live.session.delegation?.responses?.parallel_tool_calls, true);
  // Stored (for its recording) only when asked.
  assert.equal("store" in live.session, false);
  assert.equal(liveAccept({ ...SESSION, store: false }).session.store, undefined);
  assert.equal(liveAccept({ ...SESSION, store: true }).session.store, true);
  const realtime = realtimeAccept(SESSION);
  assert.equal(realtime.type, "realtime");
  assert.deepEqual(realtime.tools?.map((t) => `${t.type}:${"name" in t && t.name}`), [
    "function:end_call",
  ]);
  assert.equal(realtime.tool_choice, "auto");
  assert.equal(realtimeAccept({ ...SESSION, tools: [] }).tools, undefined);
  // The caller is transcribed only when a model is named (Realtime's default is none).
  assert.deepEqual(realtime.audio, { output: { voice: "coral" } });
  assert.deepEqual(realtimeAccept({ ...SESSION, transcriptionModel: "gpt-4o-transcribe" }).audio, {
    input: { transcription: { model: "gpt-4o-transcribe" } },
    output: { voice: "coral" },
  });
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
