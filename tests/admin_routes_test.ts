/**
 * The admin surface over HTTP: who may open it (password, local client, the "set
 * ADMIN_PASSWORD" page), CSRF on its forms, secrets kept out of `/config`, `/metrics` in
 * Prometheus format, `/health/ready`, agent edits with validation, versions and restore on real
 * KV, the live-calls event stream, and simulator tokens on the two call sockets only.
 */

import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { MAX_FAILED_LOGINS } from "../lib/admin/admin_access.ts";
import { newCallRecord } from "../lib/records/call_store.ts";
import { configWarnings } from "../lib/services.ts";
import { MAX_SERIES, Metrics } from "../lib/records/metrics.ts";
import { formFromFiles } from "../lib/agents/profile_form.ts";
import {
  SIMULATOR_PROTOCOL,
  SIMULATOR_TOKEN_TTL_MS,
  SimulatorTokens,
} from "../lib/admin/simulator_token.ts";
import { waitUntil } from "./fakes/event_log.ts";
import { FakeOpenAI } from "./fakes/fake_openai.ts";
import { FakeTwilioApi } from "./fakes/fake_twilio_api.ts";
import { callerFrame, startRealtime } from "./helpers/realtime_harness.ts";
import { eventually, relayHarness } from "./helpers/relay_harness.ts";
import { register as promRegister } from "prom-client";
import { limitHit } from "../lib/calls/admission.ts";
import { parsePrometheusText } from "./helpers/prometheus_text.ts";
import { postSigned, startService, type TestService } from "./helpers/service.ts";

const PASSWORD = "admin-pass-7f3a9c";
/** The metric families `/metrics` exposes, in order (dashboards depend on the names). */
const METRIC_FAMILIES = [
  "callbridge_active_calls",
  "callbridge_calls_started_total",
  "callbridge_calls_total",
  "callbridge_turns_total",
  "callbridge_interrupts_total",
  "callbridge_model_errors_total",
  "callbridge_tool_calls_total",
  "callbridge_realtime_frames_total",
  "callbridge_turn_latency_seconds",
  "callbridge_disabled_agent_calls_total",
  "callbridge_call_results_total",
  "callbridge_webhook_attempts_total",
  "callbridge_webhooks_undelivered",
  "callbridge_limit_hits_total",
  "callbridge_instance_info",
  "callbridge_draining",
];

function basic(password: string, user = "admin"): Record<string, string> {
  return { authorization: `Basic ${btoa(`${user}:${password}`)}` };
}

/** A form POST from `origin` (the browser sets Origin; a forged page sets its own). */
function postForm(
  svc: TestService,
  path: string,
  fields: Record<string, string>,
  options: { origin?: string | null; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    ...options.headers,
  };
  const origin = options.origin === undefined ? svc.url : options.origin;
  if (origin !== null) headers.origin = origin;
  return fetch(`${svc.url}${path}`, {
    method: "POST",
    headers,
    body: new URLSearchParams(fields),
    redirect: "manual",
  });
}

Deno.test("admin access: local clients without a password, basic auth with one", async (t) => {
  const open = await startService();
  try {
    await t.step("no password: a loopback client gets the pages", async () => {
      for (const path of ["/", "/agents", "/agents/default", "/simulator", "/metrics"]) {
        const res = await fetch(`${open.url}${path}`);
        await res.body?.cancel();
        assert.equal(res.status, 200, path);
      }
    });
    await t.step("no password: a request through a local tunnel is not local", async () => {
      const res = await fetch(`${open.url}/`, { headers: { "x-forwarded-for": "203.0.113.9" } });
      assert.equal(res.status, 403);
      assert.match(await res.text(), /Set ADMIN_PASSWORD/);
    });
  } finally {
    await open.close();
  }
  const locked = await startService({ ADMIN_PASSWORD: PASSWORD });
  try {
    await t.step("with a password: missing or wrong credentials get 401", async () => {
      // Four failed logins: under the throttle (a test of its own below).
      for (const headers of [{}, basic("wrong"), basic(PASSWORD, "root")]) {
        const paths = Object.keys(headers).length
          ? ["/", "/metrics"]
          : ["/", "/config", "/metrics", "/calls/x", "/live/events"];
        for (const path of paths) {
          const res = await fetch(`${locked.url}${path}`, { headers });
          await res.body?.cancel();
          assert.equal(res.status, 401, `${path} with ${JSON.stringify(headers)}`);
          assert.match(res.headers.get("www-authenticate") ?? "", /^Basic realm=/);
        }
      }
    });
    await t.step("with a password: the right credentials pass, with secure headers", async () => {
      const res = await fetch(`${locked.url}/`, { headers: basic(PASSWORD) });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /Recent calls/);
      const csp = res.headers.get("content-security-policy") ?? "";
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /connect-src 'self'/);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    });
    await t.step("Twilio routes never ask for the admin password", async () => {
      const res = await postSigned(`${locked.url}/twilio/voice`, { CallSid: "CA1", From: "+1" });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /<Response>/);
    });
  } finally {
    await locked.close();
  }
});

Deno.test("admin access: a deployed service without a password says to set one", async () => {
  const svc = await startService();
  try {
    const app = createApp(svc.services, { isLocal: () => false });
    for (const path of ["/", "/agents/default", "/config", "/simulator", "/metrics"]) {
      const res = await app.request(path);
      assert.equal(res.status, 403, path);
      const html = await res.text();
      assert.match(html, /Set ADMIN_PASSWORD to open the admin pages/);
      assert.doesNotMatch(html, /Recent calls|Effective configuration/);
    }
    const health = await app.request("/health");
    assert.equal(health.status, 200, "liveness stays public");
    await health.body?.cancel();
    // The icon browsers ask for is public too, so no page load logs a 401/404 for it.
    const icon = await app.request("/favicon.ico");
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get("content-type"), "image/svg+xml");
    assert.deepEqual(
      new Uint8Array(await icon.arrayBuffer()),
      await Deno.readFile(new URL("../static/favicon.svg", import.meta.url)),
    );
  } finally {
    await svc.close();
  }
});

Deno.test("admin access is deny by default: a route added after createApp is admin-only", async (t) => {
  const svc = await startService();
  const locked = await startService({ ADMIN_PASSWORD: PASSWORD });
  try {
    await t.step(
      "a remote client gets the set-password page, the public paths answer",
      async () => {
        const app = createApp(svc.services, { isLocal: () => false });
        app.get("/brand-new", (c) => c.text("secret"));
        for (const path of ["/brand-new", "/brand-new-without-a-route"]) {
          const res = await app.request(path);
          assert.equal(res.status, 403, path);
          const html = await res.text();
          assert.match(html, /Set ADMIN_PASSWORD to open the admin pages/, path);
          assert.doesNotMatch(html, /secret/, path);
        }
        const health = await app.request("/health");
        assert.equal(health.status, 200, "liveness stays public");
        assert.equal((await health.json()).status, "ok");
        const ready = await app.request("/health/ready"); // 503 here: no OpenAI key
        assert.ok("ready" in await ready.json(), "readiness stays public");
        const css = await app.request("/static/admin.css");
        assert.equal(css.status, 200, "static files stay public");
        await css.body?.cancel();
        const api = await app.request("/api/calls", { method: "POST" });
        assert.equal(api.status, 404, "the API has its own check (off without API_TOKEN)");
        assert.match((await api.json()).error, /API_TOKEN/);
        const twilio = await app.request("/twilio/voice", { method: "POST" });
        assert.equal(twilio.status, 403, "unsigned: refused by the signature check");
        assert.doesNotMatch(await twilio.text(), /ADMIN_PASSWORD/);
      },
    );
    await t.step("a local client gets it with the guard's headers; CSRF applies", async () => {
      const app = createApp(svc.services, { isLocal: () => true });
      app.get("/brand-new", (c) => c.text("secret"));
      app.post("/brand-new", (c) => c.text("posted"));
      const res = await app.request("/brand-new");
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "secret");
      assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self'/);
      const forged = await app.request("/brand-new", {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          origin: "https://evil.example",
        },
        body: "a=1",
      });
      assert.equal(forged.status, 403, "a cross-origin form post is refused");
      await forged.body?.cancel();
    });
    await t.step("with a password, the new route asks for it", async () => {
      const app = createApp(locked.services, { isLocal: () => false });
      app.get("/brand-new", (c) => c.text("secret"));
      const res = await app.request("/brand-new");
      assert.equal(res.status, 401);
      assert.doesNotMatch(await res.text(), /secret/);
      const ok = await app.request("/brand-new", { headers: basic(PASSWORD) });
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), "secret");
    });
  } finally {
    await svc.close();
    await locked.close();
  }
});

Deno.test("admin access without a password: only while listening on loopback, never via a proxy", async (t) => {
  await t.step("any proxy header means not local", async () => {
    const open = await startService();
    try {
      for (
        const header of [
          "via",
          "x-forwarded-proto",
          "x-forwarded-port",
          "true-client-ip",
          "x-client-ip",
          "forwarded",
        ]
      ) {
        const res = await fetch(`${open.url}/`, { headers: { [header]: "1.1 proxy" } });
        assert.equal(res.status, 403, header);
        assert.match(await res.text(), /Set ADMIN_PASSWORD/);
      }
    } finally {
      await open.close();
    }
  });
  await t.step(
    "a server listening beyond loopback (Docker) has no admin pages without one",
    async () => {
      // What a reverse proxy or a TCP forwarder on the machine does: a loopback peer, a loopback Host.
      const exposed = await startService({ HOSTNAME: "0.0.0.0" });
      try {
        assert.equal(exposed.services.config.production, true);
        for (const path of ["/", "/config", "/metrics", "/simulator"]) {
          const res = await fetch(`${exposed.url}${path}`);
          assert.equal(res.status, 403, path);
          await res.body?.cancel();
        }
        assert.ok(
          configWarnings(exposed.services.config).some((w) =>
            /admin pages.*are off in production/.test(w)
          ),
        );
      } finally {
        await exposed.close();
      }
    },
  );
});

/** What a raw HTTP/1.1 exchange answered: the status and the body. */
interface RawAnswer {
  status: number;
  body: string;
}

/**
 * One HTTP/1.1 request over a plain loopback TCP connection, with the `Host` header as given:
 * what a tunnel or proxy on this machine forwards (`fetch` always sends the URL's own host).
 */
async function rawRequest(
  svc: TestService,
  request: { method?: string; path: string; host: string; headers?: Record<string, string> },
  body = "",
): Promise<RawAnswer> {
  const port = Number(new URL(svc.url).port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const bytes = new TextEncoder().encode(body);
    const headers = {
      host: request.host,
      connection: "close",
      "content-length": String(bytes.length),
      ...request.headers,
    };
    const head = [
      `${request.method ?? "GET"} ${request.path} HTTP/1.1`,
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ].join("\r\n");
    await conn.write(new TextEncoder().encode(`${head}\r\n\r\n${body}`));
    // `connection: close`: the server ends the stream after its answer.
    const text = await new Response(conn.readable).text();
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]);
    return { status, body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  } finally {
    try {
      conn.close();
    } catch {
      // already closed with its readable stream
    }
  }
}

Deno.test("admin access: a loopback peer with a tunnel's Host is not local", async () => {
  const open = await startService();
  try {
    const port = new URL(open.url).port;
    // The same raw requests with a loopback Host get the pages: only the Host differs below.
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      const res = await rawRequest(open, { path: "/agents/default", host });
      assert.equal(res.status, 200, host);
      assert.match(res.body, /instructions/, host);
    }
    // A tunnel (ngrok, cloudflared) connects from this machine but forwards the public Host.
    for (const host of ["abc123.ngrok-free.app", "callbridge.example.com:443"]) {
      for (const path of ["/", "/agents/default", "/config", "/metrics"]) {
        const res = await rawRequest(open, { path, host });
        assert.equal(res.status, 403, `${host}${path}`);
        assert.match(res.body, /Set ADMIN_PASSWORD/, `${host}${path}`);
      }
      // Its form posts are refused too, even from the tunnel's own origin.
      const form = new URLSearchParams({ instructions: "Through the tunnel." }).toString();
      const post = await rawRequest(open, {
        method: "POST",
        path: "/agents/default",
        host,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          origin: `http://${host}`,
        },
      }, form);
      assert.equal(post.status, 403, `POST via ${host}`);
      assert.match(post.body, /Set ADMIN_PASSWORD/);
    }
    assert.deepEqual(await open.services.profiles.versions("default"), [], "nothing saved");
  } finally {
    await open.close();
  }
});

Deno.test("admin form posts with a password: credentials first, then the CSRF check", async () => {
  const locked = await startService({ ADMIN_PASSWORD: PASSWORD });
  try {
    const fields = { instructions: "Posted instructions." };
    const refused: [string, Record<string, string>, string | null, number][] = [
      ["no credentials", {}, locked.url, 401],
      ["a wrong password", basic("wrong"), locked.url, 401],
      ["another user", basic(PASSWORD, "root"), locked.url, 401],
      ["the password from another origin", basic(PASSWORD), "https://evil.example", 403],
      ["the password without an Origin", basic(PASSWORD), null, 403],
    ];
    for (const [what, headers, origin, status] of refused) {
      for (const path of ["/agents/default", "/agents/default/restore"]) {
        const res = await postForm(locked, path, fields, { origin, headers });
        assert.equal(res.status, status, `${what}: ${path}`);
        if (status === 401) assert.match(res.headers.get("www-authenticate") ?? "", /^Basic /);
        await res.body?.cancel();
      }
    }
    assert.deepEqual(await locked.services.profiles.versions("default"), [], "nothing saved");
    const ok = await postForm(locked, "/agents/default", fields, { headers: basic(PASSWORD) });
    assert.equal(ok.status, 303, "the password, from the pages' own origin");
    await ok.body?.cancel();
    assert.equal(
      (await locked.services.profiles.load("default"))!.instructions,
      fields.instructions,
    );
    assert.equal((await locked.services.profiles.versions("default")).length, 1);
  } finally {
    await locked.close();
  }
});

Deno.test("admin logins: failures are logged with the client, and throttled after 10", async () => {
  const locked = await startService({ ADMIN_PASSWORD: PASSWORD });
  try {
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) {
      const res = await fetch(`${locked.url}/`, { headers: basic(`guess-${i}`) });
      await res.body?.cancel();
      assert.equal(res.status, 401, `attempt ${i + 1}`);
    }
    const blocked = await fetch(`${locked.url}/`, { headers: basic(PASSWORD) });
    assert.equal(blocked.status, 429, "even the right password, from this client, for a while");
    assert.ok(Number(blocked.headers.get("retry-after")) > 0);
    await blocked.body?.cancel();
    const failed = locked.logs.filter((l) => l.event === "admin.login_failed");
    assert.equal(failed.length, MAX_FAILED_LOGINS);
    assert.equal(failed[0].client, "127.0.0.1");
    assert.ok(!JSON.stringify(failed).includes("guess-"), "no password in the logs");
  } finally {
    await locked.close();
  }
});

Deno.test("CSRF: a cross-origin form post is refused; the same origin's is taken", async () => {
  const svc = await startService();
  try {
    const fields = { instructions: "Forged instructions." };
    for (const origin of ["https://evil.example", null]) {
      const res = await postForm(svc, "/agents/default", fields, { origin });
      assert.equal(res.status, 403, `origin ${origin}`);
      await res.body?.cancel();
    }
    assert.deepEqual(await svc.services.profiles.versions("default"), [], "nothing saved");
    const ok = await postForm(svc, "/agents/default", { instructions: "Real instructions." });
    assert.equal(ok.status, 303);
    await ok.body?.cancel();
    assert.equal((await svc.services.profiles.load("default"))!.instructions, "Real instructions.");
  } finally {
    await svc.close();
  }
});

Deno.test("/config shows checks and webhook URLs and never a secret", async (t) => {
  const openai = new FakeOpenAI({ apiKey: "sk-live-secret-0a1b2c3d4e5f" });
  const twilioApi = new FakeTwilioApi();
  const secrets = {
    OPENAI_API_KEY: "sk-live-secret-0a1b2c3d4e5f",
    API_TOKEN: "api-token-secret-9z8y7x",
    ADMIN_PASSWORD: PASSWORD,
    TOOLS_SIGNING_SECRET: "tools-secret-5q6w7e",
  };
  const svc = await startService({
    ...secrets,
    OPENAI_BASE_URL: openai.start(),
    TWILIO_API_BASE_URL: twilioApi.start(),
  });
  try {
    const res = await fetch(`${svc.url}/config`, { headers: basic(PASSWORD) });
    assert.equal(res.status, 200);
    const html = await res.text();
    await t.step("no secret value appears", () => {
      for (const value of [...Object.values(secrets), svc.services.config.twilio.authToken!]) {
        assert.ok(!html.includes(value), "a secret leaked into /config");
      }
      assert.match(html, /openai\.apiKey/);
      assert.match(html, /set \(hidden\)/);
    });
    await t.step("live checks pass against the fakes", () => {
      assert.match(html, /✓ OpenAI key accepted/);
      assert.match(html, /✓ Twilio credentials accepted/);
      assert.match(html, /✓ Twilio signature validation on/);
      // A loopback http PUBLIC_URL cannot be reached by Twilio.
      assert.match(html, /✗ Public URL set and https/);
    });
    await t.step("webhook URLs come from PUBLIC_URL, one per agent", () => {
      assert.ok(html.includes(`${svc.url}/twilio/voice`));
      assert.ok(html.includes(`${svc.url}/twilio/voice?agent=appointments`));
      assert.ok(html.includes(`${svc.url}/twilio/status`));
    });
  } finally {
    await svc.close();
    await openai.close();
    await twilioApi.close();
  }
});

Deno.test("/config flags a wrong OpenAI key and wrong Twilio credentials with a fix", async () => {
  const openai = new FakeOpenAI();
  const twilioApi = new FakeTwilioApi("AC00000000000000000000000000000000", "another-token");
  const svc = await startService({
    OPENAI_API_KEY: "sk-wrong",
    OPENAI_BASE_URL: openai.start(),
    TWILIO_API_BASE_URL: twilioApi.start(),
  });
  try {
    const html = await (await fetch(`${svc.url}/config`)).text();
    assert.match(html, /✗ OpenAI key accepted<\/strong> — http:\/\/127\.0\.0\.1:\d+\/v1 refused/);
    assert.match(html, /Fix: The key is wrong, revoked or from another project/);
    assert.match(html, /✗ Twilio credentials accepted<\/strong> — Twilio refused the credentials/);
    assert.ok(!html.includes("sk-wrong"));
  } finally {
    await svc.close();
    await openai.close();
    await twilioApi.close();
  }
});

Deno.test("/metrics: Prometheus text with calls, outcomes, latency histograms, cut-ins", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    h.fake.script({ tokens: ["One ", "two ", "three."], holdAfter: 1 });
    const call = await h.call();
    call.prompt("Count for me");
    await call.next((m) => m.type === "text" && m.token === "One ");
    call.interrupt("One");
    h.fake.script({ tokens: ["Sure."] });
    call.prompt("Again");
    await call.turn(); // the close of the cut turn
    assert.equal((await call.turn()).text, "Sure.");
    await call.hangUp();
    const store = h.svc.services.records.store;
    await eventually(
      async () => (await store.findBySid(call.callSid))[0]?.outcome === "caller-hangup",
      "the call's end recorded",
    );
    const res = await fetch(`${h.svc.url}/metrics`);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    // prom-client puts an empty line between families (the format ignores empty lines).
    for (const line of text.trimEnd().split("\n").filter((line) => line !== "")) {
      assert.match(
        line,
        /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[\d.e+]+)$/,
        `not Prometheus text: ${line}`,
      );
    }
    assert.match(text, /^callbridge_active_calls\{mode="relay"\} 0$/m);
    assert.match(
      text,
      /^callbridge_calls_total\{mode="relay",agent="default",outcome="caller-hangup"\} 1$/m,
    );
    assert.match(text, /^callbridge_interrupts_total\{mode="relay"\} 1$/m);
    assert.match(text, /^callbridge_turns_total\{mode="relay",outcome="interrupted"\} 1$/m);
    // prom-client writes a bucket's `le` before its other labels (label order has no meaning).
    assert.match(text, /^callbridge_turn_latency_seconds_bucket\{le="\+Inf",mode="relay"\} 2$/m);
    assert.match(text, /^callbridge_turn_latency_seconds_count\{mode="relay"\} 2$/m);
    assert.match(text, /^# TYPE callbridge_turn_latency_seconds histogram$/m);
    assert.ok(!text.includes(call.callSid) && !text.includes("0100123"), "no SID or number");
  } finally {
    await h.close();
  }
});

Deno.test("/health/ready: 200 when KV answers and calls can be taken, else 503 naming why", async () => {
  const ready = await startService({ OPENAI_API_KEY: "sk-x", INSTANCE_ID: "web-1" });
  const notReady = await startService({ TWILIO_AUTH_TOKEN: "" });
  try {
    const ok = await fetch(`${ready.url}/health/ready`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), {
      ready: true,
      instance: "web-1",
      version: "dev",
      checks: { kv: true, openaiKey: true, twilioSignatures: true, notDraining: true },
    });
    const bad = await fetch(`${notReady.url}/health/ready`);
    assert.equal(bad.status, 503);
    const body = await bad.json();
    assert.equal(body.ready, false);
    assert.equal(body.checks.openaiKey, false);
    assert.equal(body.checks.twilioSignatures, false);
    assert.equal(body.checks.kv, true);
    assert.match(body.instance, /^i-[0-9a-f]{8}$/, "a generated id without INSTANCE_ID");
  } finally {
    await ready.close();
    await notReady.close();
  }
});

Deno.test("agent edits: problems next to their fields, versions, restore, on real KV", async (t) => {
  const svc = await startService();
  const profiles = svc.services.profiles;
  const shipped = profiles.shipped("default")!;
  try {
    await t.step("an invalid edit answers 422 with each problem by its field", async () => {
      const res = await postForm(svc, "/agents/default", {
        instructions: "Be brief.",
        maxReminders: "lots",
        realtimeVoice: "robot",
        toolsJson: '["end_call", {"name": "x"}]',
      });
      assert.equal(res.status, 422);
      const html = await res.text();
      assert.match(
        html,
        /class="problem" data-field="maxReminders">agent\.json: silence\.maxReminders must be a number/,
      );
      assert.match(html, /data-field="realtimeVoice">agent\.json: realtimeVoice must be one of/);
      assert.match(html, /data-field="toolsJson">tools\.json: \[1\]\.description is required/);
      assert.match(html, /data-field="toolsJson">tools\.json: \[1\]\.url is required \(an http/);
      assert.match(html, /Be brief\./, "the form keeps what was typed");
      assert.deepEqual(await profiles.versions("default"), [], "nothing saved");
    });
    await t.step("every save is a new version; the newest is what calls load", async () => {
      for (const [i, text] of ["First edit.", "Second edit."].entries()) {
        const res = await postForm(svc, "/agents/default", {
          instructions: text,
          greeting: `Hello ${i + 1}`,
          reminderAfterSeconds: "8",
          toolsJson: '["end_call"]',
        });
        assert.equal(res.status, 303);
        assert.equal(res.headers.get("location"), `/agents/default?saved=${i + 1}`);
        await res.body?.cancel();
      }
      const loaded = (await profiles.load("default"))!;
      assert.equal(loaded.instructions, "Second edit.");
      assert.equal(loaded.greeting, "Hello 2");
      assert.equal(loaded.silence.reminderAfterSeconds, 8);
      assert.deepEqual(loaded.builtinTools, ["end_call"]);
      assert.deepEqual((await profiles.versions("default")).map((v) => v.version), [2, 1]);
      const page = await (await fetch(`${svc.url}/agents/default?saved=2`)).text();
      assert.match(page, /Saved as version 2/);
      assert.match(page, /Second edit\./);
    });
    await t.step("restoring makes a new version equal to the old one", async () => {
      const res = await postForm(svc, "/agents/default/restore", { version: "1" });
      assert.equal(res.status, 303);
      await res.body?.cancel();
      const [v3, v2, v1] = await profiles.versions("default");
      assert.equal(v3.version, 3);
      assert.equal(v3.restoredFrom, 1);
      assert.equal(v2.instructions, "Second edit.", "earlier versions stay");
      assert.equal(v3.instructions, v1.instructions);
      assert.equal(v3.agentJson, v1.agentJson);
      assert.equal((await profiles.load("default"))!.instructions, "First edit.");
      const back = await postForm(svc, "/agents/default/restore", { version: "0" });
      assert.equal(back.status, 303);
      await back.body?.cancel();
      const files = await profiles.files("default");
      assert.equal(files?.version, 4);
      assert.equal(files?.files.instructions, shipped.instructions);
      assert.equal(files?.files.agentJson, shipped.agentJson);
    });
    await t.step("an earlier version can be seen read-only", async () => {
      const res = await fetch(`${svc.url}/agents/default/versions/2`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /Second edit\./);
      const missing = await fetch(`${svc.url}/agents/default/versions/99`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    });
  } finally {
    await svc.close();
  }
});

Deno.test("agent editor: ConversationRelay options are shown, saved, validated at their field", async () => {
  const svc = await startService();
  try {
    const current = await (await fetch(`${svc.url}/agents/appointments`)).text();
    for (const name of ["ignorebackchannel", "speechtimeout", "interruptSensitivity", "hints"]) {
      assert.match(current, new RegExp(`name="${name}"`), name);
    }
    // The form as the browser posts it: every field, as shown, with the options changed.
    const shown = formFromFiles((await svc.services.profiles.files("appointments"))!.files);
    const fields = {
      ...shown,
      ignorebackchannel: "true",
      backgroundnoisereduction: "",
      speechtimeout: "900",
      interruptSensitivity: "medium",
      partialPrompts: "false",
      hints: "molar, crown",
    };
    const saved = await postForm(svc, "/agents/appointments", fields);
    assert.equal(saved.status, 303);
    await saved.body?.cancel();
    const profile = (await svc.services.profiles.load("appointments"))!;
    assert.deepEqual(profile.conversationRelay, {
      ignorebackchannel: true,
      partialPrompts: false,
      interruptSensitivity: "medium",
      speechtimeout: "900",
      hints: "molar, crown",
    });
    const page = await (await fetch(`${svc.url}/agents/appointments`)).text();
    assert.match(page, /<option\s+value="medium" selected>/);
    assert.match(page, /id="speechtimeout" name="speechtimeout" type="text" value="900"/);
    // A wrong value is refused and named next to its field; nothing is saved.
    const versions = (await svc.services.profiles.versions("appointments")).length;
    const bad = await postForm(svc, "/agents/appointments", { ...fields, speechtimeout: "soon" });
    assert.equal(bad.status, 422);
    const html = await bad.text();
    assert.match(
      html,
      /data-field="speechtimeout"[^>]*>[^<]*speechtimeout must be &quot;auto&quot; or a whole number/,
    );
    assert.equal((await svc.services.profiles.versions("appointments")).length, versions);
  } finally {
    await svc.close();
  }
});

Deno.test("an edit saved on one instance applies to the next call on another", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/shared.kv`;
  const editor = await startService({ KV_PATH: kvPath });
  const h = await relayHarness({ KV_PATH: kvPath, WELCOME_GREETING: "" });
  try {
    const res = await postForm(editor, "/agents/default", {
      instructions: "You are Quill, a terse assistant.",
    });
    assert.equal(res.status, 303);
    await res.body?.cancel();
    const call = await h.call();
    call.prompt("Hi");
    await call.turn();
    const messages = h.fake.requests[0].body.messages as { role: string; content: string }[];
    assert.equal(messages[0].content, "You are Quill, a terse assistant.");
  } finally {
    await h.close();
    await editor.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("live events: the list of live calls is sent when a call starts and ends", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  const res = await fetch(`${h.svc.url}/live/events`);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const nextCalls = async (): Promise<{ callSid: string | null; from: string }[]> => {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.match(/^data: (.*)$/m);
        if (/^event: calls$/m.test(event) && data) return JSON.parse(data[1]);
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("the event stream ended");
      buffer += value;
    }
  };
  try {
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.deepEqual(await nextCalls(), []);
    const call = await h.call();
    const live = await nextCalls();
    assert.equal(live.length, 1);
    assert.equal(live[0].callSid, call.callSid);
    assert.equal(live[0].from, "+*******0123", "numbers masked");
    await call.hangUp();
    assert.deepEqual(await nextCalls(), []);
  } finally {
    await reader.cancel();
    await h.close();
  }
});

Deno.test("simulator tokens open the call sockets (only), never expired or forged ones", async (t) => {
  const h = await relayHarness({ ADMIN_PASSWORD: PASSWORD, WELCOME_GREETING: "Hi there." });
  const ws = h.svc.url.replace("http", "ws");
  const issue = async () => {
    const res = await postForm(h.svc, "/simulator/token", { agent: "appointments" }, {
      headers: basic(PASSWORD),
    });
    assert.equal(res.status, 200);
    return await res.json() as { token: string; protocol: string; callSid: string };
  };
  /** Opens a socket as a browser on the admin page does: with its Origin. */
  const opens = (url: string, protocols: string[], origin: string | null = h.svc.url) =>
    new Promise<WebSocket | null>((resolve) => {
      const headers: Record<string, string> = origin ? { origin } : {};
      const socket = new (WebSocket as unknown as new (
        url: string,
        options: { protocols: string[]; headers: Record<string, string> },
      ) => WebSocket)(url, { protocols, headers });
      socket.onopen = () => resolve(socket);
      socket.onerror = () => resolve(null);
    });
  try {
    await t.step("issuing a token needs the admin password", async () => {
      const res = await postForm(h.svc, "/simulator/token", { agent: "default" });
      assert.equal(res.status, 401);
      await res.body?.cancel();
    });
    await t.step("a valid token opens the relay socket and the call is recorded", async () => {
      const { token, protocol, callSid } = await issue();
      assert.equal(protocol, SIMULATOR_PROTOCOL);
      assert.match(callSid, /^CA[0-9a-f]{32}$/);
      const socket = await opens(`${ws}/twilio/relay`, [protocol, token]);
      assert.ok(socket, "the socket opened");
      assert.equal(socket.protocol, SIMULATOR_PROTOCOL, "the token is not echoed");
      const closed = new Promise((resolve) => socket.onclose = resolve);
      const reply = new Promise<string>((resolve) => {
        socket.onmessage = (ev) => {
          const m = JSON.parse(ev.data);
          if (m.type === "text" && m.last) resolve(m.token);
        };
      });
      socket.send(JSON.stringify({
        type: "setup",
        callSid,
        sessionId: "VXsim",
        from: "client:simulator",
        to: "client:callbridge",
        direction: "inbound",
        customParameters: { agent: "appointments" },
      }));
      socket.send(JSON.stringify({ type: "prompt", voicePrompt: "Hello", last: true }));
      await reply;
      socket.close(1000);
      await closed;
      await eventually(
        async () => (await h.svc.services.records.store.findBySid(callSid)).length > 0,
        "the simulated call recorded",
      );
      const [record] = await h.svc.services.records.store.findBySid(callSid);
      assert.equal(record.agent, "appointments");
    });
    await t.step(
      "a token opens one socket only, and only from the admin pages' origin",
      async () => {
        const { token, protocol } = await issue();
        assert.equal(
          await opens(`${ws}/twilio/relay`, [protocol, token], "https://evil.example"),
          null,
        );
        assert.equal(await opens(`${ws}/twilio/relay`, [protocol, token], null), null, "no Origin");
        const first = await opens(`${ws}/twilio/relay`, [protocol, token]);
        assert.ok(first, "the first use opens");
        first.close();
        assert.equal(await opens(`${ws}/twilio/relay`, [protocol, token]), null, "a second use");
      },
    );
    await t.step("a token opens the media stream socket too (the voice mode), once", async () => {
      const { token, protocol } = await issue();
      const socket = await opens(`${ws}/twilio/stream`, [protocol, token]);
      assert.ok(socket, "the stream socket opened");
      assert.equal(socket.protocol, SIMULATOR_PROTOCOL, "the token is not echoed");
      const closed = new Promise((resolve) => socket.onclose = resolve);
      socket.close(1000);
      await closed;
      assert.equal(await opens(`${ws}/twilio/stream`, [protocol, token]), null, "a second use");
      assert.equal(
        await opens(
          `${ws}/twilio/stream`,
          [protocol, (await issue()).token],
          "https://evil.example",
        ),
        null,
      );
    });
    await t.step("a forged or tampered token is refused", async () => {
      const { token, protocol } = await issue();
      const tampered = token.replace(/\.(\d)/, (_, d) => `.${(Number(d) + 1) % 10}`);
      for (const bad of [tampered, "cbsim.9999999999999.AAAA.AAAA", `${token}x`]) {
        assert.equal(await opens(`${ws}/twilio/relay`, [protocol, bad]), null, bad);
      }
    });
  } finally {
    await h.close();
  }
});

Deno.test("simulator tokens expire, and any instance sharing the KV accepts them", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    let now = 1_000_000;
    const issuer = new SimulatorTokens(kv, () => now);
    const other = new SimulatorTokens(kv, () => now);
    const token = await issuer.issue();
    assert.equal(await other.verify(token), true);
    now += SIMULATOR_TOKEN_TTL_MS + 1;
    assert.equal(await other.verify(token), false);
    assert.equal(await issuer.verify(await issuer.issue()), true);
  } finally {
    kv.close();
  }
});

Deno.test("metrics labels stay bounded: unknown agents and free-text outcomes become other", async () => {
  const metrics = new Metrics({ agents: ["default"] });
  const record = newCallRecord({
    id: "r1",
    callSid: "CA123",
    mode: "relay",
    agent: "CA0123456789abcdef",
    direction: "inbound",
    from: "+15550100123",
    to: "+15550100999",
  });
  metrics.opened(record);
  metrics.ended({ ...record, outcome: "Error: socket +15550100123 closed" });
  const text = await metrics.registry.metrics();
  assert.match(text, /^callbridge_calls_started_total\{mode="relay",agent="other"\} 1$/m);
  assert.match(text, /^callbridge_calls_total\{mode="relay",agent="other",outcome="other"\} 1$/m);
  assert.ok(!text.includes("CA0123") && !text.includes("0100123"));
  // Outcome words are bounded in shape only; past MAX_SERIES label sets they fold into other.
  for (let i = 0; i < MAX_SERIES + 50; i++) metrics.ended({ ...record, outcome: `word-${i}` });
  const ended = parsePrometheusText(await metrics.registry.metrics()).samples
    .filter((s) => s.name === "callbridge_calls_total");
  assert.equal(ended.length, MAX_SERIES + 1);
  assert.equal(
    ended.find((s) => s.labels.outcome === "other" && s.labels.agent === "other")?.value,
    1,
  );
  assert.equal(
    ended.find((s) => s.labels.agent === "other" && s.labels.mode === "other")?.value,
    51,
  );
});

Deno.test("/metrics is Prometheus exposition format line by line; two services count apart", async () => {
  const a = await startService({ INSTANCE_ID: "web-a", APP_VERSION: "1.2.3" });
  const b = await startService({ INSTANCE_ID: "web-b" });
  try {
    const recorder = a.services.records.open({
      id: "rec-a",
      callSid: "CA44444444444444444444444444444444",
      mode: "relay",
      agent: "default",
      direction: "inbound",
      from: "+15550100123",
      to: "+15550100999",
    });
    recorder.event("interrupt", "caller cut in");
    recorder.latency({ latencyMs: 420, inputTokens: 3, outputTokens: 5, outcome: "completed" });
    await recorder.end("caller-hangup");
    limitHit(a.services, "max_concurrent_calls");
    const scrape = async (svc: TestService) => {
      const res = await fetch(`${svc.url}/metrics`);
      assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const text = await res.text();
      for (const line of text.split("\n").slice(0, -1)) {
        assert.match(
          line,
          /^(|# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"\\]*"(,[a-z_]+="[^"\\]*")*\})? -?\d+(\.\d+)?)$/,
          `not name{labels} value: ${line}`,
        );
      }
      return parsePrometheusText(text);
    };
    const [first, second] = [await scrape(a), await scrape(b)];
    const ended = { mode: "relay", agent: "default", outcome: "caller-hangup" };
    assert.equal(first.value("callbridge_calls_total", ended), 1);
    assert.equal(second.value("callbridge_calls_total", ended), undefined);
    assert.equal(
      first.value("callbridge_calls_started_total", { mode: "relay", agent: "default" }),
      1,
    );
    assert.equal(first.value("callbridge_interrupts_total", { mode: "relay" }), 1);
    assert.equal(second.value("callbridge_interrupts_total", { mode: "relay" }), undefined);
    const bucket = { mode: "relay", le: "0.5" };
    assert.equal(first.value("callbridge_turn_latency_seconds_bucket", bucket), 1);
    assert.equal(first.value("callbridge_turn_latency_seconds_sum", { mode: "relay" }), 0.42);
    assert.equal(
      second.value("callbridge_turn_latency_seconds_count", { mode: "relay" }),
      undefined,
    );
    const limit = { limit: "max_concurrent_calls" };
    assert.equal(first.value("callbridge_limit_hits_total", limit), 1);
    assert.equal(second.value("callbridge_limit_hits_total", limit), undefined);
    for (const scraped of [first, second]) {
      assert.equal(scraped.value("callbridge_active_calls", { mode: "relay" }), 0);
      assert.equal(scraped.value("callbridge_active_calls", { mode: "realtime" }), 0);
      assert.equal(scraped.value("callbridge_draining"), 0);
      assert.deepEqual([...scraped.types.keys()], METRIC_FAMILIES, "the same families, in order");
    }
    assert.equal(
      first.value("callbridge_instance_info", { instance_id: "web-a", version: "1.2.3" }),
      1,
    );
    assert.equal(
      second.value("callbridge_instance_info", { instance_id: "web-b", version: "dev" }),
      1,
    );
    assert.equal(
      first.value("callbridge_instance_info", { instance_id: "web-b", version: "dev" }),
      undefined,
    );
    a.services.lifecycle.startDrain();
    assert.equal((await scrape(a)).value("callbridge_draining"), 1);
    assert.equal((await scrape(b)).value("callbridge_draining"), 0);
    assert.equal(
      (await scrape(a)).value("callbridge_calls_total", ended),
      1,
      "a scrape reads only",
    );
    assert.equal(
      promRegister.getMetricsAsArray().length,
      0,
      "prom-client's global registry unused",
    );
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("dashboard filters and search; a call's page shows its sessions in order", async () => {
  const svc = await startService();
  const store = svc.services.records.store;
  const sid = "CA22222222222222222222222222222222";
  const base = { callSid: sid, direction: "inbound", from: "+15550100123", to: "+15550100999" };
  try {
    const first = newCallRecord({ ...base, id: "rec-1", mode: "relay", agent: "default" });
    const second = newCallRecord({ ...base, id: "rec-2", mode: "relay", agent: "default" });
    second.startedAt = first.startedAt + 1000;
    const other = newCallRecord({
      ...base,
      id: "rec-3",
      callSid: "CA3",
      mode: "realtime",
      agent: "appointments",
    });
    for (const r of [{ ...first, outcome: "llm-unavailable" }, second, other]) {
      await store.putRecord(r);
    }
    const at = first.startedAt;
    await store.putItems("rec-1", {
      transcript: [{ seq: 1, role: "caller", text: "Is the pharmacy open?", at }],
    });
    await store.putItems("rec-2", {
      transcript: [{ seq: 1, role: "agent", text: "Sorry, where were we?", at: at + 1000 }],
    });
    const rows = async (query: string) => {
      const html = await (await fetch(`${svc.url}/?${query}`)).text();
      assert.ok(!html.includes("+15550100123"), "numbers are masked in lists");
      return [...html.matchAll(/<a href="\/calls\/(CA\w+)">/g)].map((m) => m[1]);
    };
    assert.deepEqual(await rows(""), [sid, "CA3", sid], "newest first");
    assert.deepEqual(await rows("q=pharmacy"), [sid]);
    assert.deepEqual(await rows("mode=realtime"), ["CA3"]);
    assert.deepEqual(await rows("agent=default&outcome=llm-unavailable"), [sid]);
    assert.deepEqual(await rows("q=nothing-like-this"), []);
    const page = await (await fetch(`${svc.url}/calls/${sid}`)).text();
    assert.ok(page.indexOf("Session 1 of 2") < page.indexOf("Session 2 of 2"));
    assert.ok(page.indexOf("Is the pharmacy open?") < page.indexOf("Sorry, where were we?"));
    assert.ok(page.includes("+*******0123"), "the call's own page shows the number, masked");
    assert.ok(!page.includes("+15550100123"), "never in full");
    const byId = await (await fetch(`${svc.url}/calls/rec-3`)).text();
    assert.match(byId, /appointments/);
  } finally {
    await svc.close();
  }
});

Deno.test("/metrics counts the frames a realtime call relayed and its outcome", async () => {
  const h = await startRealtime({ env: { REALTIME_GREETING: "" } });
  try {
    const client = await h.call();
    const session = await h.fake.session();
    for (let i = 0; i < 12; i++) client.media(callerFrame(i));
    await waitUntil(() => session.appended.length === 12, { what: "frames relayed" });
    client.stop();
    await eventually(
      async () =>
        (await h.service.services.records.store.list({ mode: "realtime" }))[0]
          ?.outcome === "caller-hangup",
      "the realtime call's end recorded",
    );
    const text = await (await fetch(`${h.service.url}/metrics`)).text();
    assert.match(text, /^callbridge_realtime_frames_total\{direction="in"\} 12$/m);
    assert.match(text, /^callbridge_realtime_frames_total\{direction="out"\} 0$/m);
    assert.match(
      text,
      /^callbridge_calls_total\{mode="realtime",agent="default",outcome="caller-hangup"\} 1$/m,
    );
  } finally {
    await h.close();
  }
});
