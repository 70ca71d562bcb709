/**
 * ConversationRelay calls end to end over real sockets: Twilio client → service → fake OpenAI.
 */

import assert from "node:assert/strict";
import { eventually, relayHarness, until, within } from "./helpers/relay_harness.ts";
import { APOLOGY, FINAL_APOLOGY } from "../lib/calls/phrases.ts";
import type { RelaySession } from "../lib/relay/relay_session.ts";
import { refusedUrl } from "./helpers/service.ts";

type Msg = { role: string; content: unknown };

/** The conversation the fake received, normalised across both APIs (system prompt excluded). */
function conversation(body: Record<string, unknown>): Msg[] {
  const items = (body.messages ?? body.input) as Msg[];
  return items.filter((m) => m.role !== "system").map((m) => ({
    role: m.role,
    content: m.content,
  }));
}

function liveSession(h: { svc: { services: { registry: { list(): unknown[] } } } }): RelaySession {
  const [session] = h.svc.services.registry.list() as RelaySession[];
  assert.ok(session, "a live session");
  return session;
}

for (const api of ["chat", "responses"] as const) {
  Deno.test(`${api}: multi-turn conversation streams tokens in order and keeps history`, async () => {
    const h = await relayHarness({ OPENAI_API: api, WELCOME_GREETING: "Hello there!" });
    try {
      h.fake.script(
        { tokens: ["Sure", ", ", "your ", "order ", "shipped."] },
        { tokens: ["It ", "arrives ", "Monday."] },
      );
      const call = await h.call();
      call.prompt("Where is my order?");
      const first = await call.turn();
      assert.deepEqual(first.tokens, ["Sure", ", ", "your ", "order ", "shipped.", ""]);
      const texts = call.received.filter((m) => m.type === "text");
      assert.deepEqual(texts.map((m) => m.last), [false, false, false, false, false, true]);

      call.prompt("When will it arrive?");
      const second = await call.turn();
      assert.equal(second.text, "It arrives Monday.");

      assert.equal(h.fake.requests.length, 2);
      const req = h.fake.requests[1];
      assert.equal(req.api, api);
      assert.equal(req.body.model, "gpt-test");
      assert.equal(req.body.stream, true);
      if (api === "chat") {
        const messages = req.body.messages as Msg[];
        assert.equal(messages[0].role, "system");
        assert.match(String(messages[0].content), /phone call/);
      } else {
        assert.match(String(req.body.instructions), /phone call/);
        assert.equal(req.body.store, false);
      }
      assert.deepEqual(conversation(req.body), [
        { role: "assistant", content: "Hello there!" },
        { role: "user", content: "Where is my order?" },
        { role: "assistant", content: "Sure, your order shipped." },
        { role: "user", content: "When will it arrive?" },
      ]);
      const session = liveSession(h);
      assert.equal(session.turns.length, 2);
      assert.ok(session.turns.every((t) => t.outcome === "completed" && t.firstTokenMs !== null));
      assert.ok(session.turns[0].outputTokens! > 0, "usage recorded");
    } finally {
      await h.close();
    }
  });

  Deno.test(`${api}: interrupt aborts the upstream request, drops late tokens, trims history`, async () => {
    const h = await relayHarness({ OPENAI_API: api, WELCOME_GREETING: "" });
    try {
      h.fake.script(
        { tokens: ["A1 ", "A2 ", "A3 ", "A4 ", "A5 ", "A6."], holdAfter: 3 },
        { tokens: ["B1 ", "B2."] },
      );
      const call = await h.call();
      call.prompt("Tell me a story");
      for (const expected of ["A1 ", "A2 ", "A3 "]) {
        const m = await call.next((m) => m.type === "text");
        assert.equal(m.token, expected);
      }
      const upstream = h.fake.requests[0];
      call.interrupt("A1 A2", "380");
      await within(upstream.aborted, 2000, "upstream request aborted");
      // Released after the abort: nothing more can be written upstream, and nothing leaks here.
      upstream.release();
      call.prompt("Actually, stop");
      const rest = await call.turn();
      // The cut turn is closed, then the new one streams; no A token in between.
      assert.deepEqual(rest.tokens, [""]);
      const next = await call.turn();
      assert.deepEqual(next.tokens, ["B1 ", "B2.", ""]);
      const tokens = call.received.filter((m) => m.type === "text").map((m) => m.token);
      assert.ok(!tokens.includes("A4 "), "no token of the interrupted turn after the interrupt");
      assert.deepEqual(upstream.tokensSent, ["A1 ", "A2 ", "A3 "]);
      assert.deepEqual(conversation(h.fake.requests[1].body), [
        { role: "user", content: "Tell me a story" },
        { role: "assistant", content: "A1 A2" },
        { role: "user", content: "Actually, stop" },
      ]);
      assert.equal(liveSession(h).turns[0].outcome, "interrupted");
    } finally {
      await h.close();
    }
  });
}

Deno.test("interrupt with nothing heard drops the turn and merges the caller's turns", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    h.fake.script({ tokens: ["X1 ", "X2."], holdAfter: 1 }, { tokens: ["Ok."] });
    const call = await h.call();
    call.prompt("First question");
    await call.next((m) => m.token === "X1 ");
    call.interrupt("", 0);
    call.prompt("second part");
    await call.turn(); // closing of the cut turn
    assert.equal((await call.turn()).text, "Ok.");
    assert.deepEqual(conversation(h.fake.requests[1].body), [
      { role: "user", content: "First question second part" },
    ]);
  } finally {
    await h.close();
  }
});

Deno.test("interrupt of the welcome greeting trims it to what was heard", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "Welcome to the clinic, how can I help?" });
  try {
    const call = await h.call();
    call.interrupt("Welcome to the", 700);
    call.prompt("I need an appointment");
    await call.turn();
    assert.deepEqual(conversation(h.fake.requests[0].body), [
      { role: "assistant", content: "Welcome to the" },
      { role: "user", content: "I need an appointment" },
    ]);
  } finally {
    await h.close();
  }
});

Deno.test("a new prompt while a turn streams aborts it; the replies never interleave", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    h.fake.script(
      { tokens: ["P1 ", "P2 ", "P3 ", "P4."], tokenDelayMs: 20 },
      { tokens: ["Q1 ", "Q2 ", "Q3."], tokenDelayMs: 5 },
    );
    const call = await h.call();
    call.prompt("one");
    await call.next((m) => m.token === "P1 ");
    call.prompt("two");
    await within(h.fake.requests[0].aborted, 2000, "first request aborted");
    const closing = await call.turn();
    assert.equal(closing.tokens.at(-1), "");
    const second = await call.turn();
    assert.equal(second.text, "Q1 Q2 Q3.");
    const order = call.received.filter((m) => m.type === "text").map((m) => String(m.token));
    const firstQ = order.indexOf("Q1 ");
    assert.ok(order.slice(firstQ).every((t) => !t.startsWith("P")), `interleaved: ${order}`);
    assert.equal(liveSession(h).turns[0].outcome, "superseded");
  } finally {
    await h.close();
  }
});

Deno.test("interrupt and prompt in the same tick: one reply, history trimmed", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    h.fake.script({ tokens: ["R1 ", "R2 ", "R3."], holdAfter: 2 }, { tokens: ["S1."] });
    const call = await h.call();
    call.prompt("hello");
    await call.next((m) => m.token === "R2 ");
    call.interrupt("R1", 100);
    call.prompt("wait");
    await call.turn();
    assert.equal((await call.turn()).text, "S1.");
    assert.deepEqual(conversation(h.fake.requests[1].body), [
      { role: "user", content: "hello" },
      { role: "assistant", content: "R1" },
      { role: "user", content: "wait" },
    ]);
  } finally {
    await h.close();
  }
});

Deno.test("partial prompts wait for the final one", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    const call = await h.call();
    call.prompt("I would", false);
    call.prompt("I would like", false);
    call.prompt("I would like a table");
    assert.equal((await call.turn()).text, "You said: I would like a table");
    assert.equal(h.fake.requests.length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("key presses are coalesced into one caller turn and answered", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "", DTMF_DEBOUNCE_MS: "150" });
  try {
    const call = await h.call();
    for (const d of ["1", "2", "3"]) call.dtmf(d);
    const reply = await call.turn();
    assert.equal(reply.text, "You said: [The caller pressed the keys: 1 2 3]");
    call.dtmf("4");
    call.dtmf("#");
    await call.turn();
    assert.equal(h.fake.requests.length, 2, "one request per burst of keys");
    const last = conversation(h.fake.requests[1].body).at(-1);
    assert.deepEqual(last, { role: "user", content: "[The caller pressed the keys: 4 #]" });
  } finally {
    await h.close();
  }
});

Deno.test("messages sent before setup completes are handled in order, in one session", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    const { RelayClient } = await import("./fakes/relay_client.ts");
    const { TEST_AUTH_TOKEN, twilioParameters } = await import("./helpers/service.ts");
    const call = await RelayClient.connect(h.svc.url, { authToken: TEST_AUTH_TOKEN });
    const parameters = await twilioParameters(h.svc.url, {
      callSid: call.callSid,
      from: call.from,
      to: call.to,
      path: "/twilio/voice/relay",
    });
    call.prompt("early bird");
    call.setup(parameters);
    assert.equal((await call.turn()).text, "You said: early bird");
    assert.equal(h.svc.services.registry.size, 1);
    await call.hangUp();
  } finally {
    await h.close();
  }
});

Deno.test("malformed and unknown frames are logged and dropped; the call goes on", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    const call = await h.call();
    call.sendRaw("{not json");
    call.sendRaw(new Uint8Array([1, 2, 3]));
    call.send({ type: "mystery", foo: 1 });
    call.send({ type: "prompt", voicePrompt: 42 });
    call.send({ type: "dtmf", digit: "xyz" });
    call.send({ noType: true });
    call.sendRaw("[1,2]");
    call.send({ type: "info", name: "tokensPlayed", value: "x" });
    call.error("Invalid message received");
    call.prompt("still there?");
    assert.equal((await call.turn()).text, "You said: still there?");
    const dropped = h.svc.logs.filter((l) => l.event === "relay.frame_dropped");
    assert.equal(dropped.length, 7);
    assert.ok(dropped.every((l) => !("stack" in l)));
    assert.ok(h.svc.logs.some((l) => l.event === "relay.twilio_error"));
  } finally {
    await h.close();
  }
});

Deno.test("caller hang-up mid-stream aborts the upstream request and frees the session", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    h.fake.script({ tokens: ["H1 ", "H2 ", "H3."], holdAfter: 1 });
    const call = await h.call();
    call.prompt("hello");
    await call.next((m) => m.token === "H1 ");
    await call.hangUp();
    await within(h.fake.requests[0].aborted, 2000, "upstream aborted on hang-up");
    await until(() => h.svc.services.registry.size === 0, "session removed from registry");
  } finally {
    await h.close();
  }
});

Deno.test("LLM HTTP error: the caller hears an apology and the call continues", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    h.fake.script({ status: 500 });
    const call = await h.call();
    call.prompt("hi");
    assert.equal((await call.turn()).text, APOLOGY);
    call.prompt("hi again");
    assert.equal((await call.turn()).text, "You said: hi again");
    assert.ok(h.svc.logs.some((l) => l.event === "llm.failed"));
  } finally {
    await h.close();
  }
});

Deno.test("LLM broken stream, in-band error and stall each give an apology", async () => {
  for (const api of ["chat", "responses"]) {
    const h = await relayHarness({
      OPENAI_API: api,
      WELCOME_GREETING: "",
      OPENAI_TIMEOUT_MS: "300",
      LLM_MAX_FAILURES: "10",
    });
    try {
      h.fake.script(
        { tokens: ["B1 ", "B2 "], breakAfter: 1 },
        { tokens: ["E1 "], errorEvent: true },
        { tokens: ["S1 ", "S2 "], stallAfter: 1 },
      );
      const call = await h.call();
      for (const [i, partial] of [["0", "B1 "], ["1", "E1 "], ["2", "S1 "]]) {
        call.prompt(`question ${i}`);
        const turn = await call.turn();
        assert.equal(turn.tokens[0], partial, `${api} #${i}`);
        assert.equal(turn.tokens.at(-1), APOLOGY, `${api} #${i}: ${turn.tokens}`);
      }
      await within(h.fake.requests[2].aborted, 2000, "stalled request closed by the timeout");
      assert.equal(liveSession(h).turns.filter((t) => t.outcome === "failed").length, 3);
    } finally {
      await h.close();
    }
  }
});

Deno.test("LLM idle timeout: re-armed by every event; only a quiet stream fails", async () => {
  for (const api of ["chat", "responses"]) {
    const h = await relayHarness({
      OPENAI_API: api,
      WELCOME_GREETING: "",
      OPENAI_TIMEOUT_MS: "400",
    });
    try {
      const slow = ["T1 ", "T2 ", "T3 ", "T4 ", "T5"];
      h.fake.script(
        // A token every 250 ms (under the timeout), for 1.25 s in all (three timeouts' worth).
        { tokens: slow, tokenDelayMs: 250 },
        // One token, then nothing: quiet for longer than the timeout.
        { tokens: ["Q1 ", "Q2 "], stallAfter: 1 },
      );
      const call = await h.call();
      const started = performance.now();
      call.prompt("take your time");
      const turn = await call.turn();
      const took = performance.now() - started;
      assert.equal(turn.text, slow.join(""), `${api}: the slow reply in full, no apology`);
      assert.ok(took >= 1250, `${api}: the reply lasted longer than the timeout (${took} ms)`);
      await h.fake.requests[0].finished;
      assert.equal(h.fake.requests[0].abortedAt, null, `${api}: the slow stream was not cut`);
      call.prompt("and now?");
      const quiet = await call.turn();
      assert.deepEqual([quiet.tokens[0], quiet.tokens.at(-1)], ["Q1 ", APOLOGY], `${api}: quiet`);
      await within(h.fake.requests[1].aborted, 2000, "quiet request closed by the timeout");
      const outcomes = liveSession(h).turns.map((t) => t.outcome);
      assert.deepEqual(outcomes.slice(-2).map((o) => o === "failed"), [false, true], api);
      assert.ok(h.svc.logs.some((l) => l.event === "llm.failed" && /no data/.test(`${l.error}`)));
    } finally {
      await h.close();
    }
  }
});

Deno.test("LLM refused connection: apology; repeated failures end the call with a reason", async () => {
  const h = await relayHarness({
    OPENAI_BASE_URL: `${refusedUrl()}/v1`,
    WELCOME_GREETING: "",
    LLM_MAX_FAILURES: "2",
  });
  try {
    const call = await h.call();
    call.prompt("one");
    assert.equal((await call.turn()).text, APOLOGY);
    call.prompt("two");
    assert.equal((await call.turn()).text, FINAL_APOLOGY);
    const end = await call.next((m) => m.type === "end");
    assert.equal(JSON.parse(String(end.handoffData)).reason, "llm-unavailable");
    const closed = await call.closed;
    assert.equal(closed.code, 1000);
    await until(() => h.svc.services.registry.size === 0, "session removed");
    // The record says what happened.
    const store = h.svc.services.records.store;
    await eventually(
      async () => (await store.findBySid(call.callSid))[0]?.outcome === "llm-unavailable",
      "record completed",
    );
    const [record] = await store.findBySid(call.callSid);
    const errors = (await store.getDetail(record.id))!.events.filter((e) => e.type === "error");
    assert.equal(errors.length, 2);
    assert.match(errors[0].summary, /Connection error/i);
  } finally {
    await h.close();
  }
});

Deno.test("without an OpenAI key the call hears an apology and ends, not silence", async () => {
  const h = await relayHarness({ OPENAI_API_KEY: "" });
  try {
    // The webhook already answers with an apology; this is a socket that opens anyway (the key
    // removed on the instance it reached), with a token that instance would accept.
    const { RelayClient } = await import("./fakes/relay_client.ts");
    const { TEST_AUTH_TOKEN } = await import("./helpers/service.ts");
    const call = await RelayClient.connect(h.svc.url, { authToken: TEST_AUTH_TOKEN });
    const token = await h.svc.services.callTokens.issue({
      callSid: call.callSid,
      from: call.from,
      to: call.to,
      agent: "default",
      reference: "",
    });
    call.setup({ agent: "default", token });
    const said = await call.turn();
    assert.match(said.text, /isn't set up/);
    const end = await call.next((m) => m.type === "end");
    assert.equal(JSON.parse(String(end.handoffData)).reason, "not-configured");
  } finally {
    await h.close();
  }
});

Deno.test("one call's failure does not affect another call", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    const a = await h.call();
    const b = await h.call();
    h.fake.script({ status: 503 });
    a.prompt("fail please");
    assert.equal((await a.turn()).text, APOLOGY);
    b.prompt("and me?");
    assert.equal((await b.turn()).text, "You said: and me?");
    a.sendRaw("garbage");
    await a.hangUp();
    b.prompt("still fine");
    assert.equal((await b.turn()).text, "You said: still fine");
  } finally {
    await h.close();
  }
});
