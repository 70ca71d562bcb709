/**
 * Agents created and deleted from the pages, on real KV with the fake Twilio REST API: created
 * from a template or as a copy (each a first version in KV), answering calls from the next one
 * on an instance that did not create it; bad or taken names refused; a shipped agent can follow
 * its files but not be deleted; deleting is refused while a number's voice webhook or a pending
 * outbound call uses the agent, and is a version of its own; after it, calls for the name are the
 * default agent's, and the name can be created again.
 */

import assert from "node:assert/strict";
import { relayHarness } from "./helpers/relay_harness.ts";
import { startService, type TestService } from "./helpers/service.ts";
import { recordCallStatus } from "../lib/records/call_status.ts";

const TOKEN = "api-token-lifecycle";

function postForm(svc: TestService, path: string, fields: Record<string, string>) {
  return fetch(`${svc.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: svc.url },
    body: new URLSearchParams(fields),
    redirect: "manual",
  });
}

/** The page's text with the quotes Preact escapes put back. */
async function text(res: Response): Promise<string> {
  return (await res.text()).replaceAll("&quot;", '"').replaceAll("&#39;", "'");
}

Deno.test("agents: created from a template or a copy on one instance, answering on another", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agents-" });
  const kvPath = `${dir}/shared.kv`;
  const editor = await startService({ KV_PATH: kvPath });
  const h = await relayHarness({ KV_PATH: kvPath, WELCOME_GREETING: "" });
  try {
    // The other instance has listed its agents before the new one exists.
    assert.doesNotMatch(await text(await fetch(`${h.svc.url}/agents`)), /front-desk/);
    const created = await postForm(editor, "/agents", {
      name: "front-desk",
      start: "template:relay",
    });
    assert.equal(created.status, 303);
    assert.equal(created.headers.get("location"), "/agents/front-desk?created=1");
    await created.body?.cancel();
    const page = await text(await fetch(`${editor.url}/agents/front-desk?created=1`));
    assert.match(page, /Created as version 1: every instance answers with it/);
    assert.match(page, /data-lifecycle="created"/);
    assert.match(page, /created from template relay/);
    assert.doesNotMatch(page, /data-version="0"/, "no files to show");

    // An edit on the creating instance, the next call on the other one runs it.
    const edited = await postForm(editor, "/agents/front-desk", {
      instructions: "You are Ferris at the front desk.",
    });
    assert.equal(edited.status, 303);
    await edited.body?.cancel();
    const call = await h.call({ agent: "front-desk" });
    call.prompt("Hi");
    await call.turn();
    const messages = h.fake.requests[0].body.messages as { role: string; content: string }[];
    assert.equal(messages[0].content, "You are Ferris at the front desk.");
    const metrics = await text(await fetch(`${h.svc.url}/metrics`));
    assert.match(
      metrics,
      /callbridge_calls_started_total\{mode="relay",agent="front-desk"\} 1/,
      "a created agent is counted by name, not as other",
    );
    assert.match(await text(await fetch(`${h.svc.url}/agents`)), /data-agent="front-desk"/);

    // A copy starts from the running files of the copied agent.
    const copy = await postForm(h.svc, "/agents", {
      name: "front-desk-2",
      start: "copy:front-desk",
    });
    assert.equal(copy.status, 303);
    await copy.body?.cancel();
    const files = await editor.services.profiles.files("front-desk-2");
    assert.equal(files?.files.instructions, "You are Ferris at the front desk.");

    for (
      const [fields, problem] of [
        [{ name: "Front Desk", start: "template:relay" }, /lower-case letters, digits/],
        [{ name: "front-desk", start: "template:relay" }, /there is already an agent "front-desk"/],
        [{ name: "default", start: "template:relay" }, /there is already an agent "default"/],
        [{ name: "x1", start: "template:nosuch" }, /there is no template "nosuch"/],
        [{ name: "x1", start: "copy:nosuch" }, /there is no agent "nosuch" to copy/],
        [{ name: "x1", start: "" }, /choose a template or an agent to copy/],
      ] as const
    ) {
      const res = await postForm(editor, "/agents", fields);
      assert.equal(res.status, 422, JSON.stringify(fields));
      assert.match(await text(res), problem);
    }
  } finally {
    await h.close();
    await editor.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agents: delete refused for a shipped agent and while a number or a pending outbound call uses it", async () => {
  const h = await relayHarness({ API_TOKEN: TOKEN, WELCOME_GREETING: "" });
  const svc = h.svc;
  try {
    const shipped = await postForm(svc, "/agents/appointments/delete", {});
    assert.equal(shipped.status, 409);
    assert.match(await text(shipped), /ships with the service and cannot be deleted/);
    assert.match(
      await text(await fetch(`${svc.url}/agents/appointments`)),
      /data-lifecycle="shipped"/,
    );

    await (await postForm(svc, "/agents", { name: "sales", start: "template:realtime" })).body
      ?.cancel();
    // A number whose voice webhook names it.
    h.twilioApi.numbers.push({
      sid: "PN0123456789abcdef0123456789abcdef",
      phoneNumber: "+15550100777",
      voiceUrl: `${svc.url}/twilio/voice?agent=sales`,
      voiceMethod: "POST",
      statusCallback: "",
      statusCallbackMethod: "POST",
    });
    const byNumber = await postForm(svc, "/agents/sales/delete", {});
    assert.equal(byNumber.status, 409);
    assert.match(await text(byNumber), /the number \+15550100777 \(its voice webhook names it\)/);
    h.twilioApi.numbers[0].voiceUrl = `${svc.url}/twilio/voice?agent=default`;

    // A pending outbound call placed with it.
    const placed = await fetch(`${svc.url}/api/calls`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ to: "+15550100444", agent: "sales" }),
    });
    assert.equal(placed.status, 201);
    const { callSid } = await placed.json();
    const byCall = await postForm(svc, "/agents/sales/delete", {});
    assert.equal(byCall.status, 409);
    assert.match(await text(byCall), /an outbound call to \+1555\*+444 \(queued|being placed\)/);
    await recordCallStatus(svc.services.kv, {
      callSid,
      status: "completed",
      at: Date.now(),
      durationSeconds: 30,
    });

    const deleted = await postForm(svc, "/agents/sales/delete", {});
    assert.equal(deleted.status, 303);
    assert.equal(deleted.headers.get("location"), "/agents?deleted=sales");
    await deleted.body?.cancel();
    assert.equal((await fetch(`${svc.url}/agents/sales`)).status, 404);
    assert.doesNotMatch(await text(await fetch(`${svc.url}/agents`)), /data-agent="sales"/);
    const kv = svc.services.kv;
    const tombstone = (await kv.get<{ deleted?: boolean }>(["agent_profile", "sales", 2])).value;
    assert.equal(tombstone?.deleted, true, "the delete is version 2");
    // A call for the name now reaches the default agent.
    assert.equal((await svc.services.profiles.load("sales"))?.name, "default");
    // And the name can be taken again, its versions going on.
    const again = await postForm(svc, "/agents", { name: "sales", start: "template:relay" });
    assert.equal(again.headers.get("location"), "/agents/sales?created=3");
    await again.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("agents: two deletes at once — one deletes, the other finds the agent gone (404, not 500)", async () => {
  const h = await relayHarness({ API_TOKEN: TOKEN, WELCOME_GREETING: "" });
  const svc = h.svc;
  try {
    await (await postForm(svc, "/agents", { name: "sales", start: "template:relay" })).body
      ?.cancel();
    // The first delete stops at its look-up of the numbers (a double click's first request) …
    h.twilioApi.holdNumberLists = true;
    const first = postForm(svc, "/agents/sales/delete", {});
    await h.twilioApi.numberLists.waitFor(() => true, { what: "the first delete's look-up" });
    // … while the second deletes the agent.
    h.twilioApi.holdNumberLists = false;
    const second = await postForm(svc, "/agents/sales/delete", {});
    assert.equal(second.status, 303);
    await second.body?.cancel();
    h.twilioApi.releaseNumberLists();
    const late = await first;
    assert.equal(late.status, 404);
    assert.match(await text(late), /sales/);
    assert.equal((await fetch(`${svc.url}/agents/sales`)).status, 404);
  } finally {
    await h.close();
  }
});
