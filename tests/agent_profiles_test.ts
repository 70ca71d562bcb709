/**
 * Agent profiles end to end, over real sockets and real KV: a bad profile beside a good one (the
 * good agent answers, the bad one's callers hear the apology, its problems all at once on
 * /agents and /config), a webhook for an unknown agent listed as a misconfigured number, and
 * files and web edits that cannot silently diverge — a file edit after a web edit shown as a
 * difference, "follow the files" applying it on every instance, export and diff.
 */

import assert from "node:assert/strict";
import { readZip } from "../lib/agents/profile_export.ts";
import { AGENT_UNAVAILABLE } from "../lib/calls/phrases.ts";
import { relayHarness } from "./helpers/relay_harness.ts";
import { parsePrometheusText } from "./helpers/prometheus_text.ts";
import { postSigned, startService, TEST_ACCOUNT_SID, type TestService } from "./helpers/service.ts";

/** Writes `files` (path → text) under a new temp folder; returns it. */
async function agentsDir(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "agents_" });
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${path}`, text);
  }
  return dir;
}

/** A page's text with Preact's HTML escapes undone. */
async function pageText(svc: TestService, path: string): Promise<string> {
  const res = await fetch(`${svc.url}${path}`);
  assert.equal(res.status, 200, path);
  return (await res.text()).replaceAll("&quot;", '"').replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

/** POSTs an admin form from the service's own origin. */
async function postForm(
  svc: TestService,
  path: string,
  fields: Record<string, string>,
): Promise<Response> {
  const res = await fetch(`${svc.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: svc.url },
    body: new URLSearchParams(fields),
    redirect: "manual",
  });
  await res.body?.cancel();
  return res;
}

/** The voice webhook's TwiML for `agent`, called to `to`. */
async function voiceTwiml(svc: TestService, agent: string, to: string): Promise<string> {
  const res = await postSigned(`${svc.url}/twilio/voice?agent=${agent}`, {
    CallSid: `CA${crypto.randomUUID().replaceAll("-", "")}`,
    AccountSid: TEST_ACCOUNT_SID,
    From: "+15550100123",
    To: to,
    CallStatus: "ringing",
    Direction: "inbound",
  });
  assert.equal(res.status, 200);
  return await res.text();
}

const BROKEN_AGENT_JSON = '{\n  "greeting": "Hi",\n  "mode": "relay",\n}\n';

Deno.test("a bad profile beside a good one: the good agent answers, the bad one apologises", async () => {
  const dir = await agentsDir({
    "default/agent.json": "{}",
    "default/instructions.md": "You are the default agent.",
    "sales/agent.json": "{}",
    "sales/instructions.md": "You are Sales.",
    // Three files, three kinds of problem; instructions.md is missing.
    "broken/agent.json": BROKEN_AGENT_JSON,
    "broken/tools.json": '["hang_up"]',
    "typos/agent.json": "{}",
    "typos/instructions.md": "Hello {{form}}. {{#customerName}}Dear {{customerName}}.",
  });
  const h = await relayHarness({ AGENTS_DIR: dir, WELCOME_GREETING: "", API_TOKEN: "tok-1" });
  try {
    const call = await h.call({ agent: "sales" });
    call.prompt("Hi");
    await call.turn();
    const messages = h.fake.requests[0].body.messages as { role: string; content: string }[];
    assert.equal(messages[0].content, "You are Sales.", "the good agent answers");

    for (const agent of ["broken", "typos"]) {
      const twiml = await voiceTwiml(h.svc, agent, "+15550100999");
      assert.ok(twiml.includes(`<Say>${AGENT_UNAVAILABLE}</Say>`), twiml);
      assert.match(twiml, /<Hangup\/>/);
      assert.doesNotMatch(twiml, /<Connect/, `${agent}: no call to the agent`);
    }
    const disabledLogs = h.svc.logs.filter((l) => l.event === "voice.agent_disabled");
    assert.deepEqual(disabledLogs.map((l) => l.agent), ["broken", "typos"]);
    const metrics = parsePrometheusText(await (await fetch(`${h.svc.url}/metrics`)).text());
    assert.equal(metrics.value("callbridge_disabled_agent_calls_total", { agent: "broken" }), 1);
    assert.equal(metrics.value("callbridge_disabled_agent_calls_total", { agent: "typos" }), 1);

    const problems = [
      `${dir}/broken/agent.json: is not valid JSON at line 4, column 1 ` +
      "(Expected double-quoted property name)",
      `${dir}/broken/tools.json: [0] must be one of end_call, transfer_to_human, send_dtmf, ` +
      'send_sms, switch_language (got "hang_up")',
      `${dir}/broken/instructions.md: is missing`,
      `${dir}/typos/instructions.md: line 1: {{#customerName}} is never closed with ` +
      "{{/customerName}}",
    ];
    for (const path of ["/agents", "/config"]) {
      const page = await pageText(h.svc, path);
      for (const problem of problems) assert.ok(page.includes(problem), `${path}: ${problem}`);
      assert.match(page, /data-agent(-findings)?="broken"/);
    }
    const agents = await pageText(h.svc, "/agents");
    assert.match(agents, /data-agent="broken" data-disabled="true"/);
    assert.match(agents, /data-agent="sales" data-disabled="false"/);
    const editor = await pageText(h.svc, "/agents/broken");
    assert.match(editor, /Disabled: callers hear a short apology/);
    assert.ok(editor.includes(problems[0]), "the agent's page lists its problems");

    const placed = await fetch(`${h.svc.url}/api/calls`, {
      method: "POST",
      headers: { authorization: "Bearer tok-1", "content-type": "application/json" },
      body: JSON.stringify({ to: "+15550100555", agent: "broken" }),
    });
    assert.equal(placed.status, 409, "no outbound call for a disabled agent");
    assert.match((await placed.json()).error, /agent "broken" is disabled/);
    assert.equal(h.twilioApi.calls.items.length, 0);
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a webhook for an unknown agent is answered by default, logged and listed on /config", async () => {
  const svc = await startService({ OPENAI_API_KEY: "sk-test" });
  try {
    const before = await pageText(svc, "/config");
    assert.match(before, /No webhook named an unknown agent/);
    const twiml = await voiceTwiml(svc, "nosuch", "+15550100777");
    assert.match(twiml, /<Connect/, "the default agent answers");
    const warning = svc.logs.find((l) => l.event === "voice.unknown_agent");
    assert.equal(warning?.level, "warn");
    assert.equal(warning?.agent, "nosuch");
    const page = await pageText(svc, "/config");
    assert.match(page, /<tr\s+data-number="\+15550100777"><td>\+15550100777<\/td><td><code>nosuch/);
  } finally {
    await svc.close();
  }
});

Deno.test("a file edit after a web edit shows as a difference; following the files applies it", async (t) => {
  const dir = await agentsDir({
    "default/agent.json": "{}\n",
    "default/instructions.md": "From the files.\n",
  });
  const kvDir = await Deno.makeTempDir();
  const env = { AGENTS_DIR: dir, KV_PATH: `${kvDir}/shared.kv` };
  let svc = await startService(env);
  try {
    await t.step("a web edit runs, and says so", async () => {
      const res = await postForm(svc, "/agents/default", { instructions: "From the web.\n" });
      assert.equal(res.status, 303);
      assert.equal((await svc.services.profiles.load("default"))!.instructions, "From the web.\n");
      const page = await pageText(svc, "/agents/default");
      assert.match(page, /data-source="edit" data-version="1"/);
      assert.match(page, /Runs an edit: v1, saved \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
      assert.match(page, /data-files-changed="false"/);
    });
    await t.step("the files change and the instance restarts: shown, not applied", async () => {
      await svc.close();
      await Deno.writeTextFile(`${dir}/default/instructions.md`, "From the files, edited.\n");
      svc = await startService(env);
      assert.equal((await svc.services.profiles.load("default"))!.instructions, "From the web.\n");
      const ignored = svc.logs.find((l) => l.event === "profile.files_ignored");
      assert.equal(ignored?.agent, "default");
      const page = await pageText(svc, "/agents/default");
      assert.match(page, /data-files-changed="true"/);
      assert.match(page, /The files changed since this edit was saved/);
      assert.match(page, /class="del">- From the web\.<\/span>/);
      assert.match(page, /class="add">\+ From the files, edited\.<\/span>/);
      assert.match(await pageText(svc, "/agents"), /the files changed since/);
    });
    await t.step("following the files applies them, on every instance", async () => {
      const other = await startService(env); // a second instance, same KV, same files
      try {
        assert.equal(
          (await other.services.profiles.load("default"))!.instructions,
          "From the web.\n",
        );
        const res = await postForm(svc, "/agents/default/follow", {});
        assert.equal(res.status, 303);
        for (const instance of [svc, other]) {
          const profile = await instance.services.profiles.load("default");
          assert.equal(profile!.instructions, "From the files, edited.\n");
        }
        const [v2] = await svc.services.profiles.versions("default");
        assert.equal(v2.version, 2);
        assert.equal(v2.followsFiles, true);
        assert.match(await pageText(other, "/agents/default"), /data-source="files"/);
      } finally {
        await other.close();
      }
    });
    await t.step("while following, later file edits apply (after a restart)", async () => {
      await svc.close();
      await Deno.writeTextFile(`${dir}/default/instructions.md`, "Edited once more.\n");
      svc = await startService(env);
      assert.equal(
        (await svc.services.profiles.load("default"))!.instructions,
        "Edited once more.\n",
      );
      assert.equal(svc.logs.some((l) => l.event === "profile.files_ignored"), false);
    });
    await t.step("restoring version 0 follows the files too (no frozen copy)", async () => {
      await postForm(svc, "/agents/default", { instructions: "Another web edit.\n" });
      const res = await postForm(svc, "/agents/default/restore", { version: "0" });
      assert.equal(res.status, 303);
      const [v4] = await svc.services.profiles.versions("default");
      assert.equal(v4.followsFiles, true);
      assert.equal(v4.restoredFrom, 0);
    });
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(kvDir, { recursive: true });
  }
});

Deno.test("export gives a version's files exactly; diff shows two versions' lines", async () => {
  const dir = await agentsDir({
    "default/agent.json": '{ "greeting": "Hello" }\n',
    "default/instructions.md": "Line one.\nLine two.\n",
    "default/tools.json": '["end_call"]\n',
  });
  const svc = await startService({ AGENTS_DIR: dir });
  try {
    const res = await postForm(svc, "/agents/default", {
      instructions: "Line one.\nLine 2, edited.\n",
      greeting: "Hi there",
      toolsJson: '["end_call", "send_dtmf"]',
    });
    assert.equal(res.status, 303);
    const [v1] = await svc.services.profiles.versions("default");

    const zip = await fetch(`${svc.url}/agents/default/export/1`);
    assert.equal(zip.status, 200);
    assert.equal(zip.headers.get("content-type"), "application/zip");
    assert.equal(
      zip.headers.get("content-disposition"),
      'attachment; filename="default-v1.zip"',
    );
    assert.deepEqual(readZip(new Uint8Array(await zip.arrayBuffer())), {
      "default/agent.json": v1.agentJson,
      "default/instructions.md": "Line one.\nLine 2, edited.\n",
      "default/tools.json": '["end_call", "send_dtmf"]',
    });
    const files = await fetch(`${svc.url}/agents/default/export/0`);
    assert.deepEqual(readZip(new Uint8Array(await files.arrayBuffer())), {
      "default/agent.json": '{ "greeting": "Hello" }\n',
      "default/instructions.md": "Line one.\nLine two.\n",
      "default/tools.json": '["end_call"]\n',
    });

    const diff = await pageText(svc, "/agents/default/diff?from=files&to=1");
    assert.ok(diff.includes('class="same">  Line one.</span>'), "an unchanged line");
    assert.match(diff, /class="del">- Line two\.<\/span>/);
    assert.match(diff, /class="add">\+ Line 2, edited\.<\/span>/);
    assert.ok(diff.includes('+   "greeting": "Hi there"\n'), "an added line of agent.json");
    assert.match(diff, /data-file="tools.json" data-changed="true"/);
    const same = await pageText(svc, "/agents/default/diff?from=1&to=1");
    assert.equal(same.match(/data-changed="false"/g)?.length, 3);
    const missing = await fetch(`${svc.url}/agents/default/diff?from=1&to=9`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
});
