/**
 * `POST /simulator/token` with the caller and params the simulator page sends: each checked
 * (a 400 naming what is wrong), the params stored under a reference the way `POST /api/calls`
 * stores an outbound call's, and the greeting rendered over them; the voice mode refused while
 * OpenAI is not configured.
 */

import assert from "node:assert/strict";
import { loadOutbound } from "../lib/records/outbound_store.ts";
import { startService, type TestService } from "./helpers/service.ts";

async function token(svc: TestService, fields: Record<string, string>) {
  const res = await fetch(`${svc.url}/simulator/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: svc.url },
    body: new URLSearchParams(fields),
  });
  return { status: res.status, body: await res.json() as Record<string, string> };
}

Deno.test("simulator token: the caller and params are checked, stored and rendered", async () => {
  const svc = await startService({ WELCOME_GREETING: "Hi {{customerName}}, from {{from}}." });
  try {
    const plain = await token(svc, { agent: "default" });
    assert.equal(plain.status, 200);
    assert.equal(plain.body.from, "client:simulator");
    assert.equal(plain.body.reference, "");
    assert.equal(plain.body.greeting, "Hi , from client:simulator.");

    const given = await token(svc, {
      agent: "default",
      from: "+15550100777",
      params: '{"customerName": "Ada", "visits": 3}',
    });
    assert.equal(given.status, 200);
    assert.equal(given.body.greeting, "Hi Ada, from +15550100777.");
    const stored = await loadOutbound(svc.services.kv, given.body.reference);
    assert.deepEqual(stored?.params, { customerName: "Ada", visits: 3 });
    assert.equal(stored?.agent, "default");

    for (
      const [fields, why] of [
        [{ from: "555-0100" }, /^from must be/],
        [{ from: "client:a b" }, /^from must be/],
        [{ params: "[1]" }, /^params must be/],
        [{ params: '{"nested": {"a": 1}}' }, /^params must be/],
        [{ params: "{not json" }, /^params must be/],
        [{ params: '{"bad name": "x"}' }, /^params must be/],
      ] as const
    ) {
      const refused = await token(svc, { agent: "default", ...fields });
      assert.equal(refused.status, 400, JSON.stringify(fields));
      assert.match(refused.body.error, why);
    }
  } finally {
    await svc.close();
  }
});

Deno.test("simulator token: the voice mode is refused, naming the variable, without OpenAI", async () => {
  const bare = await startService();
  const keyed = await startService({ OPENAI_API_KEY: "sk-test" });
  try {
    const refused = await token(bare, { agent: "default", mode: "voice" });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error, /^OpenAI is not configured: OPENAI_API_KEY is not set/);
    assert.equal((await token(bare, { agent: "default" })).status, 200, "the text mode still is");
    const voice = await token(keyed, { agent: "default", mode: "voice" });
    assert.equal(voice.status, 200);
    assert.match(voice.body.token, /^cbsim\./);
  } finally {
    await bare.close();
    await keyed.close();
  }
});
