/**
 * The Responses API can fail a reply in-band, mid-stream: `response.failed` (as OpenAI's docs
 * show it, see `tests/fixtures/openai_responses_stream.json`), then the end of the stream, with
 * no `response.completed` and no `error` event. On the relay path the caller hears an apology
 * that closes the half-said sentence, and the call goes on: the next prompt is answered.
 */

import assert from "node:assert/strict";
import { APOLOGY } from "../lib/calls/phrases.ts";
import { relayHarness } from "./helpers/relay_harness.ts";

Deno.test("responses: response.failed gives an apology; the call goes on", async () => {
  const h = await relayHarness({ OPENAI_API: "responses", WELCOME_GREETING: "" });
  try {
    h.fake.script(
      { tokens: ["Let me ", "check"], responseFailed: true },
      { tokens: ["Your order ", "shipped."] },
    );
    const call = await h.call();
    call.prompt("Where is my order?");
    const failed = await call.turn();
    // What was said of the failed reply, left open with a space, then the apology closing it.
    assert.equal(failed.text, `Let me check ${APOLOGY}`, JSON.stringify(failed.tokens));
    assert.deepEqual(failed.tokens.slice(0, 3), ["Let me ", "check", " "]);
    const [log] = h.svc.logs.filter((l) => l.event === "llm.failed");
    assert.match(String(log?.error), /The model failed to generate a response\./);
    // The call goes on: not ended, and the next prompt gets its answer.
    call.prompt("Hello?");
    assert.equal((await call.turn()).text, "Your order shipped.");
    assert.ok(!call.received.some((m) => m.type === "end"), "the call was not ended");
    assert.equal(call.socket.readyState, WebSocket.OPEN);
    assert.equal(h.fake.requests.length, 2);
    await call.hangUp();
  } finally {
    await h.close();
  }
});
