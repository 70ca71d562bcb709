/**
 * The Twilio-facing HTTP surface over real sockets: TwiML shape, signature checks on webhooks
 * and on the WebSocket upgrade, the session-end action, and health.
 */

import assert from "node:assert/strict";
import { XMLParser } from "fast-xml-parser";
import twilio from "twilio";
import { RelayClient } from "./fakes/relay_client.ts";
import { postSigned, startService, TEST_AUTH_TOKEN, type TestService } from "./helpers/service.ts";
import { FAILED, NO_HUMAN, NOT_CONFIGURED, RECONNECTING } from "../lib/calls/phrases.ts";

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseTagValue: false,
  parseAttributeValue: false,
});

type Node = Record<string, unknown>;

/** POSTs a Twilio-style form, signed over `publicUrl + path` unless `signature` is given. */
function postForm(
  svc: TestService,
  path: string,
  params: Record<string, string>,
  options: { signature?: string | null; publicUrl?: string } = {},
): Promise<Response> {
  return postSigned(`${svc.url}${path}`, params, {
    signature: options.signature,
    signedUrl: `${options.publicUrl ?? svc.url}${path}`,
  });
}

const CALL = {
  CallSid: "CA11111111111111111111111111111111",
  AccountSid: "AC00000000000000000000000000000000",
  From: "+15550100123",
  To: "+15550100999",
  CallStatus: "ringing",
  Direction: "inbound",
};

Deno.test("POST /twilio/voice answers ConversationRelay TwiML from the configuration", async () => {
  const svc = await startService({
    OPENAI_API_KEY: "sk-x",
    WELCOME_GREETING: "Hi, this is Ada.",
    LANGUAGE: "en-GB",
    TTS_PROVIDER: "Google",
    TTS_VOICE: "en-GB-Neural2-A",
    TRANSCRIPTION_PROVIDER: "Deepgram",
    SPEECH_MODEL: "nova-3-general",
    INTERRUPTIBLE: "speech",
    INTERRUPT_SENSITIVITY: "high",
    DTMF_DETECTION: "true",
    STT_HINTS: "Callbridge,Twilio",
  });
  try {
    const res = await postForm(svc, "/twilio/voice", CALL);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/xml/);
    const doc = xml.parse(await res.text()) as Node;
    const connect = (doc.Response as Node).Connect as Node;
    assert.equal(connect.action, `${svc.url}/twilio/relay/action?agent=default`);
    assert.equal(connect.method, "POST");
    const relay = connect.ConversationRelay as Node;
    assert.equal(relay.url, `${svc.url.replace("http", "ws")}/twilio/relay`);
    assert.ok(!String(relay.url).includes("?"), "no query string in the socket URL");
    assert.equal(relay.welcomeGreeting, "Hi, this is Ada.");
    assert.equal(relay.welcomeGreetingInterruptible, "any");
    assert.equal(relay.language, "en-GB");
    assert.equal(relay.ttsProvider, "Google");
    assert.equal(relay.voice, "en-GB-Neural2-A");
    assert.equal(relay.transcriptionProvider, "Deepgram");
    assert.equal(relay.speechModel, "nova-3-general");
    assert.equal(relay.interruptible, "speech");
    assert.equal(relay.interruptSensitivity, "high");
    assert.equal(relay.dtmfDetection, "true");
    assert.equal(relay.hints, "Callbridge,Twilio");
    // Speaker events through `events` (the SDK's attribute), not the older `debug` form.
    assert.equal(relay.events, "speaker-events");
    assert.equal(relay.debug, undefined);
    const params = relay.Parameter as Node[];
    assert.deepEqual(params.map((p) => p.name), ["agent", "token"]);
    assert.equal(params[0].value, "default");
    assert.match(String(params[1].value), /^cbcall\.\d+\.[A-Za-z0-9_-]{43}$/);
  } finally {
    await svc.close();
  }
});

Deno.test("an agent's ConversationRelay options reach the TwiML, over the configured ones", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agents_" });
  try {
    for (const name of ["default", "tuned"]) {
      await Deno.mkdir(`${dir}/${name}`);
      await Deno.writeTextFile(`${dir}/${name}/instructions.md`, "Help.");
    }
    await Deno.writeTextFile(`${dir}/default/agent.json`, "{}");
    await Deno.writeTextFile(
      `${dir}/tuned/agent.json`,
      JSON.stringify({
        conversationRelay: {
          ignorebackchannel: true,
          backgroundnoisereduction: false,
          speechtimeout: 1200,
          interruptSensitivity: "low",
          partialPrompts: true,
          hints: ["Bright Smile", "molar"],
        },
      }),
    );
    const svc = await startService({
      OPENAI_API_KEY: "sk-x",
      AGENTS_DIR: dir,
      INTERRUPT_SENSITIVITY: "high",
      STT_HINTS: "Callbridge",
    });
    try {
      const relayOf = async (agent: string) => {
        const res = await postForm(svc, `/twilio/voice?agent=${agent}`, CALL);
        const doc = xml.parse(await res.text()) as Node;
        return ((doc.Response as Node).Connect as Node).ConversationRelay as Node;
      };
      const tuned = await relayOf("tuned");
      assert.equal(tuned.ignorebackchannel, "true");
      assert.equal(tuned.backgroundnoisereduction, "false");
      assert.equal(tuned.speechtimeout, "1200");
      assert.equal(tuned.interruptSensitivity, "low");
      assert.equal(tuned.partialPrompts, "true");
      assert.equal(tuned.hints, "Bright Smile,molar");
      // The other agent keeps the configuration's, and Twilio's defaults for the rest.
      const plain = await relayOf("default");
      assert.equal(plain.interruptSensitivity, "high");
      assert.equal(plain.hints, "Callbridge");
      for (const name of ["ignorebackchannel", "speechtimeout", "partialPrompts"]) {
        assert.equal(plain[name], undefined, name);
      }
    } finally {
      await svc.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("POST /twilio/voice without an OpenAI key says a short apology, not silence", async () => {
  const svc = await startService({ OPENAI_API_KEY: "" });
  try {
    const res = await postForm(svc, "/twilio/voice", CALL);
    const doc = xml.parse(await res.text()) as Node;
    const response = doc.Response as Node;
    assert.equal(response.Say, NOT_CONFIGURED);
    assert.ok("Hangup" in response);
  } finally {
    await svc.close();
  }
});

Deno.test("webhook signatures: right → 200; missing, wrong, tampered → 403", async () => {
  const svc = await startService({ OPENAI_API_KEY: "sk-x" });
  try {
    assert.equal((await postForm(svc, "/twilio/voice", CALL)).status, 200);
    const missing = await postForm(svc, "/twilio/voice", CALL, { signature: null });
    assert.equal(missing.status, 403);
    assert.equal(await missing.text(), "Forbidden");
    const wrong = await postForm(svc, "/twilio/voice", CALL, { signature: "bm90IGl0" });
    assert.equal(wrong.status, 403);
    await wrong.body?.cancel();
    // Signed for other parameters than the ones sent.
    const signature = twilio.getExpectedTwilioSignature(
      TEST_AUTH_TOKEN,
      `${svc.url}/twilio/voice`,
      { ...CALL, From: "+15550000000" },
    );
    const tampered = await postForm(svc, "/twilio/voice", CALL, { signature });
    assert.equal(tampered.status, 403);
    await tampered.body?.cancel();
    // The query string is part of what is signed.
    const other = twilio.getExpectedTwilioSignature(
      TEST_AUTH_TOKEN,
      `${svc.url}/twilio/voice`,
      CALL,
    );
    const query = await postForm(svc, "/twilio/voice?agent=x", CALL, { signature: other });
    assert.equal(query.status, 403);
    await query.body?.cancel();
    const rejected = svc.logs.filter((l) => l.event === "twilio.signature_rejected");
    assert.equal(rejected.length, 4);
    assert.ok(!JSON.stringify(svc.logs).includes(TEST_AUTH_TOKEN), "no secret in logs");
  } finally {
    await svc.close();
  }
});

Deno.test("signatures are checked against PUBLIC_URL, not the Host header (tunnels, proxies)", async () => {
  const publicUrl = "https://callbridge.example.ngrok.app";
  const svc = await startService({ OPENAI_API_KEY: "sk-x", PUBLIC_URL: publicUrl });
  try {
    const ok = await postForm(svc, "/twilio/voice", CALL, { publicUrl });
    assert.equal(ok.status, 200);
    const doc = xml.parse(await ok.text()) as Node;
    const relay = ((doc.Response as Node).Connect as Node).ConversationRelay as Node;
    assert.equal(relay.url, "wss://callbridge.example.ngrok.app/twilio/relay");
    const local = await postForm(svc, "/twilio/voice", CALL);
    assert.equal(local.status, 403, "a signature over the local URL is not accepted");
    await local.body?.cancel();
  } finally {
    await svc.close();
  }
});

Deno.test("the WebSocket upgrade is signature-checked", async () => {
  const svc = await startService({
    OPENAI_API_KEY: "sk-x",
    OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
  });
  try {
    for (const signature of [null, "d3Jvbmc="]) {
      await assert.rejects(
        RelayClient.connect(svc.url, { authToken: TEST_AUTH_TOKEN, signature }),
        /WebSocket failed/,
      );
    }
    assert.equal(svc.services.registry.size, 0, "no session for a rejected upgrade");
    // A signature over the https URL is not valid for the wss URL.
    const httpSigned = twilio.getExpectedTwilioSignature(
      TEST_AUTH_TOKEN,
      `${svc.url}/twilio/relay`,
      {},
    );
    await assert.rejects(
      RelayClient.connect(svc.url, { authToken: TEST_AUTH_TOKEN, signature: httpSigned }),
    );
    const client = await RelayClient.connect(svc.url, { authToken: TEST_AUTH_TOKEN });
    assert.equal(svc.services.registry.size, 1);
    await client.hangUp();
  } finally {
    await svc.close();
  }
});

Deno.test("TWILIO_VALIDATE_SIGNATURE=false accepts unsigned requests and warns at start", async () => {
  const svc = await startService({ OPENAI_API_KEY: "sk-x", TWILIO_VALIDATE_SIGNATURE: "false" });
  try {
    const res = await postForm(svc, "/twilio/voice", CALL, { signature: null });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const { configWarnings } = await import("../lib/services.ts");
    assert.ok(configWarnings(svc.services.config).some((w) => /NOT checked/.test(w)));
  } finally {
    await svc.close();
  }
});

Deno.test("no auth token and validation on: /twilio/* is refused", async () => {
  const svc = await startService({ OPENAI_API_KEY: "sk-x", TWILIO_AUTH_TOKEN: "" });
  try {
    const res = await postForm(svc, "/twilio/voice", CALL);
    assert.equal(res.status, 403);
    await res.body?.cancel();
  } finally {
    await svc.close();
  }
});

Deno.test("relay action: hand-off dials HANDOFF_NUMBER (or the number in the hand-off data)", async () => {
  const svc = await startService({ OPENAI_API_KEY: "sk-x", HANDOFF_NUMBER: "+15550100777" });
  try {
    const ended = {
      ...CALL,
      SessionId: "VX1",
      SessionStatus: "ended",
      SessionDuration: "42",
      HandoffData: JSON.stringify({ reason: "live-agent-handoff", summary: "wants a human" }),
    };
    let doc = xml.parse(await (await postForm(svc, "/twilio/relay/action", ended)).text()) as Node;
    assert.equal((doc.Response as Node).Dial, "+15550100777");
    const own = {
      ...ended,
      HandoffData: JSON.stringify({ reason: "live-agent-handoff", number: "+15550100888" }),
    };
    doc = xml.parse(await (await postForm(svc, "/twilio/relay/action", own)).text()) as Node;
    assert.equal((doc.Response as Node).Dial, "+15550100888");
    const failedLlm = { ...ended, HandoffData: JSON.stringify({ reason: "llm-unavailable" }) };
    doc = xml.parse(await (await postForm(svc, "/twilio/relay/action", failedLlm)).text()) as Node;
    assert.equal((doc.Response as Node).Dial, "+15550100777");
  } finally {
    await svc.close();
  }
});

Deno.test("relay action: completed, ended without hand-off, hand-off with nobody, failed", async () => {
  const svc = await startService({ OPENAI_API_KEY: "sk-x" });
  try {
    const post = async (path: string, params: Record<string, string>) =>
      xml.parse(
        await (await postForm(svc, path, { ...CALL, SessionId: "VX2", ...params })).text(),
      ) as Node;
    assert.equal((await post("/twilio/relay/action", { SessionStatus: "completed" })).Response, "");
    const goodbye = await post("/twilio/relay/action", {
      SessionStatus: "ended",
      HandoffData: JSON.stringify({ reason: "end_call" }),
    });
    assert.equal(goodbye.Response, "");
    const nobody = (await post("/twilio/relay/action", {
      SessionStatus: "ended",
      HandoffData: JSON.stringify({ reason: "live-agent-handoff" }),
    })).Response as Node;
    assert.equal(nobody.Say, NO_HUMAN);
    assert.ok("Hangup" in nobody);
    // A dropped socket reconnects once, without a second greeting …
    const failed = (await post("/twilio/relay/action", {
      SessionStatus: "failed",
      ErrorCode: "64105",
    })).Response as Node;
    const relay = (failed.Connect as Node).ConversationRelay as Node;
    assert.equal(
      (failed.Connect as Node).action,
      `${svc.url}/twilio/relay/action?agent=default&reconnects=1`,
    );
    assert.equal(relay.welcomeGreeting, undefined);
    const params = relay.Parameter as Node[];
    assert.deepEqual(params.map((p) => p.name), ["agent", "token", "reconnect"]);
    assert.deepEqual([params[0].value, params[2].value], ["default", "1"]);
    assert.equal(failed.Say, RECONNECTING);
    // … and a second failure says goodbye.
    const again = (await post("/twilio/relay/action?reconnects=1", {
      SessionStatus: "failed",
    })).Response as Node;
    assert.equal(again.Say, FAILED);
  } finally {
    await svc.close();
  }
});

Deno.test("relay action: HandoffData means a hand-off and ErrorCode a failure, whatever SessionStatus says", async () => {
  const svc = await startService({ OPENAI_API_KEY: "sk-x", HANDOFF_NUMBER: "+15550100777" });
  try {
    const post = async (params: Record<string, string>) =>
      (xml.parse(
        await (await postForm(svc, "/twilio/relay/action?reconnects=1", {
          ...CALL,
          SessionId: "VX3",
          ...params,
        })).text(),
      ) as Node).Response as Node | "";
    const handoff = JSON.stringify({ reason: "live-agent-handoff", summary: "wants a person" });
    for (const status of ["completed", "ended", "failed", "something-new", ""]) {
      const dialled = await post({ SessionStatus: status, HandoffData: handoff });
      assert.equal((dialled as Node).Dial, "+15550100777", `hand-off with "${status}"`);
      const failed = await post({
        SessionStatus: status,
        ErrorCode: "39001",
        ErrorMessage: "Network connection to WebSocket server failed.",
      });
      assert.equal((failed as Node).Dial, "+15550100777", `error with "${status}"`);
      assert.match(String((failed as Node).Say), /^Sorry, something went wrong on our side\./);
    }
    // Neither: the session ended as the caller or the app left it, nothing more.
    assert.equal(await post({ SessionStatus: "something-new" }), "");
    assert.equal(await post({ SessionStatus: "completed", SessionDuration: "35" }), "");
  } finally {
    await svc.close();
  }
});

Deno.test("GET /health answers JSON", async () => {
  const svc = await startService();
  try {
    const res = await fetch(`${svc.url}/health`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, "ok");
    assert.deepEqual(body.calls, { relay: 0, realtime: 0, sip: 0 });
    assert.equal(body.openaiConfigured, false);
  } finally {
    await svc.close();
  }
});
