/**
 * The `X-Twilio-Signature` check, on a small Hono app: the URL Twilio signed (`PUBLIC_URL` over the
 * Host header, `wss://` for socket upgrades), form POSTs signed with the real `twilio` SDK, every
 * way a signature can be missing, wrong or replayed, no auth token, validation switched off, the
 * admin simulator's token on `/twilio/relay` and `/twilio/stream` (only from this origin, only
 * when it verifies, only on those upgrades), and
 * the one warning each refusal logs with its `why`.
 */

import assert from "node:assert/strict";
import { Hono } from "hono";
import twilio from "twilio";
import { Logger } from "../platform/log.ts";
import { SIMULATOR_PROTOCOL } from "./simulator_token.ts";
import { RejectedRequests } from "./rejected_requests.ts";
import {
  mismatchHint,
  signedUrl,
  twilioSignature,
  type TwilioSignatureOptions,
} from "./twilio_signature.ts";

const AUTH_TOKEN = "0123456789abcdef0123456789abcdef";
const PUBLIC_URL = "https://calls.example.com";
/** Where the service itself listens, behind the public URL. */
const LOCAL = "http://127.0.0.1:8000";
const CALL = { CallSid: "CA0123456789abcdef0123456789abcdef", From: "+15550100200", To: "+1555" };
const TOKEN = "cbsim.1700000000000.AAAAAAAAAAAAAAAA.c2lnbmF0dXJl";

type Line = Record<string, unknown>;

/** A Twilio-side app: the check on `/twilio/*`, then a handler that names what reached it. */
function harness(options: Partial<TwilioSignatureOptions> = {}) {
  const lines: Line[] = [];
  const log = new Logger("debug", {}, (line) => {
    const { time: _, ...rest } = JSON.parse(line);
    lines.push(rest);
  });
  const app = new Hono();
  app.use(
    "/twilio/*",
    twilioSignature({
      authToken: AUTH_TOKEN,
      enabled: true,
      publicUrl: PUBLIC_URL,
      log,
      ...options,
    }),
  );
  app.all("/twilio/*", (c) => c.text(`handled ${c.req.method} ${c.req.path}`));
  return { app, lines };
}

/** A fake simulator-token checker that records what it was asked. */
function simulator(valid: boolean) {
  const asked: string[] = [];
  return {
    asked,
    async verify(token: string) {
      asked.push(token);
      return await Promise.resolve(valid);
    },
  };
}

/** What Twilio would put in X-Twilio-Signature for `url` and `params`. */
function sign(url: string, params: Record<string, string> = {}, token = AUTH_TOKEN): string {
  return twilio.getExpectedTwilioSignature(token, url, params);
}

/** A form POST as Twilio sends a webhook, with `signature` (none when null). */
function post(
  app: Hono,
  url: string,
  params: Record<string, string>,
  signature: string | null,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(app.request(url, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(signature === null ? {} : { "x-twilio-signature": signature }),
      ...headers,
    },
    body: new URLSearchParams(params).toString(),
  }));
}

/** A WebSocket upgrade request (GET with `Upgrade: websocket`) with extra `headers`. */
function upgrade(app: Hono, url: string, headers: Record<string, string>): Promise<Response> {
  return Promise.resolve(app.request(url, { headers: { upgrade: "websocket", ...headers } }));
}

/** The subprotocols the admin simulator offers: its own name and the token. */
function offering(token: string, origin: string | null): Record<string, string> {
  return {
    "sec-websocket-protocol": `${SIMULATOR_PROTOCOL}, ${token}`,
    ...(origin === null ? {} : { origin }),
  };
}

function rejected(path: string, why: string): Line {
  return { level: "warn", event: "twilio.signature_rejected", path, why };
}

/** The warning of a mismatch: the URL the service checked against and the PUBLIC_URL hint. */
function mismatch(path: string, expectedUrl: string, publicUrl: string | null = PUBLIC_URL): Line {
  return { ...rejected(path, "mismatch"), expectedUrl, hint: mismatchHint(publicUrl) };
}

async function assertForbidden(res: Response): Promise<void> {
  assert.equal(res.status, 403);
  assert.equal(await res.text(), "Forbidden");
}

async function assertHandled(res: Response, what: string): Promise<void> {
  assert.equal(res.status, 200);
  assert.equal(await res.text(), `handled ${what}`);
}

Deno.test("signedUrl: PUBLIC_URL and the path and query, whatever the Host header says", () => {
  const request = new Request(`${LOCAL}/twilio/voice?agent=sales&x=1`, {
    headers: { host: "internal.example:8000", "x-forwarded-host": "proxy.example" },
  });
  assert.equal(signedUrl(PUBLIC_URL, request), `${PUBLIC_URL}/twilio/voice?agent=sales&x=1`);
  // A public URL with a path prefix keeps it in front of the request's path.
  assert.equal(
    signedUrl("https://example.com/callbridge", request),
    "https://example.com/callbridge/twilio/voice?agent=sales&x=1",
  );
});

Deno.test("signedUrl: a WebSocket upgrade (any case) was signed over the wss:// URL", () => {
  for (const value of ["websocket", "WebSocket", "WEBSOCKET"]) {
    const request = new Request(`${LOCAL}/twilio/relay?agent=sales`, {
      headers: { upgrade: value },
    });
    assert.equal(
      signedUrl(PUBLIC_URL, request),
      "wss://calls.example.com/twilio/relay?agent=sales",
    );
  }
  // Another upgrade is not a socket: the https URL.
  const h2c = new Request(`${LOCAL}/twilio/relay`, { headers: { upgrade: "h2c" } });
  assert.equal(signedUrl(PUBLIC_URL, h2c), `${PUBLIC_URL}/twilio/relay`);
  // Without PUBLIC_URL, a plain http base becomes ws://.
  const local = new Request(`${LOCAL}/twilio/stream`, { headers: { upgrade: "websocket" } });
  assert.equal(signedUrl(null, local), "ws://127.0.0.1:8000/twilio/stream");
});

Deno.test("signedUrl without PUBLIC_URL: forwarded proto and host, else Host, else the URL", () => {
  const url = `${LOCAL}/twilio/voice?agent=sales`;
  const at = (headers: Record<string, string>) => signedUrl(null, new Request(url, { headers }));
  assert.equal(at({}), `${LOCAL}/twilio/voice?agent=sales`);
  assert.equal(at({ host: "abc.ngrok.app" }), "http://abc.ngrok.app/twilio/voice?agent=sales");
  assert.equal(
    at({ host: "abc.ngrok.app", "x-forwarded-proto": "https" }),
    "https://abc.ngrok.app/twilio/voice?agent=sales",
  );
  assert.equal(
    at({ host: "internal", "x-forwarded-proto": "https", "x-forwarded-host": "abc.ngrok.app" }),
    "https://abc.ngrok.app/twilio/voice?agent=sales",
  );
});

Deno.test("a form POST signed over PUBLIC_URL and its parameters reaches the handler", async () => {
  const { app, lines } = harness();
  const url = `${PUBLIC_URL}/twilio/voice?agent=sales`;
  const res = await post(app, `${LOCAL}/twilio/voice?agent=sales`, CALL, sign(url, CALL), {
    host: "127.0.0.1:8000",
  });
  await assertHandled(res, "POST /twilio/voice");
  assert.deepEqual(lines, []);
});

Deno.test("no X-Twilio-Signature (or an empty one): 403, logged as missing", async () => {
  const { app, lines } = harness();
  await assertForbidden(await post(app, `${LOCAL}/twilio/voice`, CALL, null));
  await assertForbidden(await post(app, `${LOCAL}/twilio/status`, CALL, ""));
  assert.deepEqual(lines, [
    rejected("/twilio/voice", "missing"),
    rejected("/twilio/status", "missing"),
  ]);
});

Deno.test("a signature over anything but this request is 403, logged as a mismatch", async () => {
  const { app, lines } = harness();
  const url = `${PUBLIC_URL}/twilio/voice?agent=sales`;
  const good = sign(url, CALL);
  const tampered = `${good[0] === "A" ? "B" : "A"}${good.slice(1)}`;
  const attempts: [string, Record<string, string>, string][] = [
    ["tampered signature", CALL, tampered],
    ["a parameter changed", { ...CALL, From: "+15550100999" }, good],
    ["a parameter added", { ...CALL, Digits: "1" }, good],
    ["a parameter dropped", { CallSid: CALL.CallSid, From: CALL.From }, good],
    ["another auth token", CALL, sign(url, CALL, "fedcba9876543210fedcba9876543210")],
    ["the Host URL, not PUBLIC_URL", CALL, sign(`${LOCAL}/twilio/voice?agent=sales`, CALL)],
    ["no parameters signed", CALL, sign(url)],
  ];
  for (const [what, params, signature] of attempts) {
    const res = await post(app, `${LOCAL}/twilio/voice?agent=sales`, params, signature);
    assert.equal(res.status, 403, what);
    assert.equal(await res.text(), "Forbidden", what);
  }
  // Replayed to another path or with another query: the URL is part of what was signed.
  await assertForbidden(await post(app, `${LOCAL}/twilio/status?agent=sales`, CALL, good));
  await assertForbidden(await post(app, `${LOCAL}/twilio/voice?agent=other`, CALL, good));
  assert.deepEqual(lines, [
    ...attempts.map(() => mismatch("/twilio/voice", url)),
    mismatch("/twilio/status", `${PUBLIC_URL}/twilio/status?agent=sales`),
    mismatch("/twilio/voice", `${PUBLIC_URL}/twilio/voice?agent=other`),
  ]);
});

Deno.test("without PUBLIC_URL the URL signed is the one the Host header names", async () => {
  const { app, lines } = harness({ publicUrl: null });
  const headers = { host: "abc.ngrok.app", "x-forwarded-proto": "https" };
  const signature = sign("https://abc.ngrok.app/twilio/voice", CALL);
  await assertHandled(
    await post(app, `${LOCAL}/twilio/voice`, CALL, signature, headers),
    "POST /twilio/voice",
  );
  // The same request signed for the address the service listens on is not what Twilio signed.
  await assertForbidden(
    await post(app, `${LOCAL}/twilio/voice`, CALL, sign(`${LOCAL}/twilio/voice`, CALL), headers),
  );
  assert.deepEqual(lines, [mismatch("/twilio/voice", "https://abc.ngrok.app/twilio/voice", null)]);
});

Deno.test("only a POST's form fields are signed: another method's body is not", async () => {
  const { app, lines } = harness();
  const url = `${PUBLIC_URL}/twilio/status?CallSid=CA1`;
  const put = (signature: string) =>
    app.request(`${LOCAL}/twilio/status?CallSid=CA1`, {
      method: "PUT",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": signature,
      },
      body: new URLSearchParams(CALL).toString(),
    });
  await assertHandled(await put(sign(url)), "PUT /twilio/status");
  await assertForbidden(await put(sign(url, CALL)));
  assert.deepEqual(lines, [mismatch("/twilio/status", url)]);
});

Deno.test("an upgrade signed over the wss:// URL passes; over https:// it does not", async () => {
  const { app, lines } = harness();
  for (const path of ["/twilio/stream", "/twilio/relay"]) {
    const wss = sign(`wss://calls.example.com${path}?agent=sales`);
    await assertHandled(
      await upgrade(app, `${LOCAL}${path}?agent=sales`, { "x-twilio-signature": wss }),
      `GET ${path}`,
    );
    const https = sign(`${PUBLIC_URL}${path}?agent=sales`);
    await assertForbidden(
      await upgrade(app, `${LOCAL}${path}?agent=sales`, { "x-twilio-signature": https }),
    );
  }
  // A plain GET (no upgrade) is signed over the https URL.
  const get = await app.request(`${LOCAL}/twilio/stream`, {
    headers: { "x-twilio-signature": sign(`${PUBLIC_URL}/twilio/stream`) },
  });
  await assertHandled(get, "GET /twilio/stream");
  assert.deepEqual(lines, [
    mismatch("/twilio/stream", "wss://calls.example.com/twilio/stream?agent=sales"),
    mismatch("/twilio/relay", "wss://calls.example.com/twilio/relay?agent=sales"),
  ]);
});

Deno.test("no TWILIO_AUTH_TOKEN: every request is 403, signed or not, and says why", async () => {
  const { app, lines } = harness({ authToken: null });
  await assertForbidden(await post(app, `${LOCAL}/twilio/voice`, CALL, null));
  const signature = sign(`${PUBLIC_URL}/twilio/voice`, CALL);
  await assertForbidden(await post(app, `${LOCAL}/twilio/voice`, CALL, signature));
  const why = "TWILIO_AUTH_TOKEN is not set, so no signature can be checked";
  assert.deepEqual(lines, [rejected("/twilio/voice", why), rejected("/twilio/voice", why)]);
});

Deno.test("validation off: everything passes unchecked, even without a token", async () => {
  for (const authToken of [AUTH_TOKEN, null]) {
    const checker = simulator(false);
    const { app, lines } = harness({ enabled: false, authToken, simulator: checker });
    await assertHandled(await post(app, `${LOCAL}/twilio/voice`, CALL, null), "POST /twilio/voice");
    await assertHandled(
      await post(app, `${LOCAL}/twilio/voice`, CALL, "bogus"),
      "POST /twilio/voice",
    );
    const socket = await upgrade(app, `${LOCAL}/twilio/relay`, offering(TOKEN, "https://evil"));
    await assertHandled(socket, "GET /twilio/relay");
    assert.deepEqual(checker.asked, [], "no token is even looked at");
    assert.deepEqual(lines, []);
  }
});

Deno.test("a simulator token on /twilio/relay from this origin passes if it verifies", async () => {
  // Without PUBLIC_URL this origin is the request's own.
  const checker = simulator(true);
  const { app, lines } = harness({ publicUrl: null, simulator: checker });
  await assertHandled(
    await upgrade(app, `${LOCAL}/twilio/relay`, offering(TOKEN, LOCAL)),
    "GET /twilio/relay",
  );
  assert.deepEqual(checker.asked, [TOKEN]);
  assert.deepEqual(lines, []);
});

Deno.test("a simulator token that does not verify is 403: invalid, expired or used", async () => {
  const checker = simulator(false);
  const { app, lines } = harness({ simulator: checker });
  // Even with a valid Twilio signature beside it: the token is what was offered.
  const headers = {
    ...offering(TOKEN, PUBLIC_URL),
    "x-twilio-signature": sign("wss://calls.example.com/twilio/relay"),
  };
  await assertForbidden(await upgrade(app, `${LOCAL}/twilio/relay`, headers));
  assert.deepEqual(checker.asked, [TOKEN]);
  assert.deepEqual(lines, [
    rejected("/twilio/relay", "simulator token invalid, expired or used"),
  ]);
});

Deno.test("a simulator token is this origin's only: PUBLIC_URL's or the request's", async () => {
  const checker = simulator(true);
  const { app, lines } = harness({ simulator: checker });
  const url = `${LOCAL}/twilio/relay`;
  await assertHandled(await upgrade(app, url, offering(TOKEN, PUBLIC_URL)), "GET /twilio/relay");
  await assertHandled(await upgrade(app, url, offering(TOKEN, LOCAL)), "GET /twilio/relay");
  assert.deepEqual(checker.asked, [TOKEN, TOKEN]);
  // Another origin, a look-alike of ours, or no Origin at all (a browser always sends one).
  for (
    const origin of [
      "https://evil.example",
      "http://localhost:8000",
      "https://calls.example.com:8443",
      null,
    ]
  ) {
    await assertForbidden(await upgrade(app, url, offering(TOKEN, origin)));
  }
  assert.deepEqual(checker.asked, [TOKEN, TOKEN], "a foreign token is never checked (nor used up)");
  const why = "simulator token from another origin";
  assert.deepEqual(lines, Array(4).fill(rejected("/twilio/relay", why)));
});

Deno.test("a simulator token opens the two call sockets' upgrades only: else a signature", async () => {
  const checker = simulator(true);
  const { app, lines } = harness({ simulator: checker });
  const offered = offering(TOKEN, PUBLIC_URL);
  for (const path of ["/twilio/voice", "/twilio/stream/action", "/twilio/relay/x"]) {
    await assertForbidden(await upgrade(app, `${LOCAL}${path}`, offered));
  }
  // Not an upgrade: the same headers on a plain GET or a POST of a call socket's path.
  await assertForbidden(await app.request(`${LOCAL}/twilio/relay`, { headers: offered }));
  await assertForbidden(await post(app, `${LOCAL}/twilio/relay`, CALL, null, offered));
  await assertForbidden(await app.request(`${LOCAL}/twilio/stream`, { headers: offered }));
  assert.deepEqual(checker.asked, []);
  assert.deepEqual(lines, [
    rejected("/twilio/voice", "missing"),
    rejected("/twilio/stream/action", "missing"),
    rejected("/twilio/relay/x", "missing"),
    rejected("/twilio/relay", "missing"),
    rejected("/twilio/relay", "missing"),
    rejected("/twilio/stream", "missing"),
  ]);
});

Deno.test("the voice simulator's token opens /twilio/stream, by the same rules", async () => {
  const checker = simulator(true);
  const { app, lines } = harness({ simulator: checker });
  const url = `${LOCAL}/twilio/stream`;
  await assertHandled(await upgrade(app, url, offering(TOKEN, PUBLIC_URL)), "GET /twilio/stream");
  await assertHandled(await upgrade(app, url, offering(TOKEN, LOCAL)), "GET /twilio/stream");
  await assertForbidden(await upgrade(app, url, offering(TOKEN, "https://evil.example")));
  await assertForbidden(await upgrade(app, url, offering(TOKEN, null)));
  assert.deepEqual(checker.asked, [TOKEN, TOKEN], "a foreign token is never checked");
  const refusing = harness({ simulator: simulator(false) });
  await assertForbidden(await upgrade(refusing.app, url, offering(TOKEN, PUBLIC_URL)));
  // Twilio's own stream upgrade (no token) still goes by its signature.
  const signed = { "x-twilio-signature": sign("wss://calls.example.com/twilio/stream") };
  await assertHandled(await upgrade(app, url, signed), "GET /twilio/stream");
  assert.deepEqual(lines, [
    rejected("/twilio/stream", "simulator token from another origin"),
    rejected("/twilio/stream", "simulator token from another origin"),
  ]);
  assert.deepEqual(refusing.lines, [
    rejected("/twilio/stream", "simulator token invalid, expired or used"),
  ]);
});

Deno.test("Twilio's own relay upgrade (no token offered) is checked by its signature", async () => {
  const checker = simulator(true);
  const { app, lines } = harness({ simulator: checker });
  const wss = sign("wss://calls.example.com/twilio/relay?agent=sales");
  await assertHandled(
    await upgrade(app, `${LOCAL}/twilio/relay?agent=sales`, { "x-twilio-signature": wss }),
    "GET /twilio/relay",
  );
  // A token without the simulator's subprotocol beside it is no simulator token either.
  await assertHandled(
    await upgrade(app, `${LOCAL}/twilio/relay?agent=sales`, {
      "x-twilio-signature": wss,
      "sec-websocket-protocol": TOKEN,
      origin: PUBLIC_URL,
    }),
    "GET /twilio/relay",
  );
  await assertForbidden(await upgrade(app, `${LOCAL}/twilio/relay`, {}));
  assert.deepEqual(checker.asked, []);
  assert.deepEqual(lines, [rejected("/twilio/relay", "missing")]);
});

Deno.test("without a simulator checker a token is ignored and the signature decides", async () => {
  const { app, lines } = harness({ simulator: null });
  await assertForbidden(await upgrade(app, `${LOCAL}/twilio/relay`, offering(TOKEN, PUBLIC_URL)));
  const signed = {
    ...offering(TOKEN, PUBLIC_URL),
    "x-twilio-signature": sign("wss://calls.example.com/twilio/relay"),
  };
  await assertHandled(await upgrade(app, `${LOCAL}/twilio/relay`, signed), "GET /twilio/relay");
  assert.deepEqual(lines, [rejected("/twilio/relay", "missing")]);
});

Deno.test("refusals are kept for /config, newest first, the last few only", async () => {
  const rejections = new RejectedRequests(2);
  const { app } = harness({ rejections });
  await assertForbidden(await post(app, `${LOCAL}/twilio/voice`, CALL, null));
  const wrong = sign(`${LOCAL}/twilio/status`, CALL);
  await assertForbidden(await post(app, `${LOCAL}/twilio/status`, CALL, wrong));
  assert.deepEqual(rejections.list().map(({ at: _, ...rest }) => rest), [
    {
      method: "POST",
      path: "/twilio/status",
      why: "mismatch",
      expectedUrl: `${PUBLIC_URL}/twilio/status`,
      hint: mismatchHint(PUBLIC_URL),
    },
    { method: "POST", path: "/twilio/voice", why: "missing", expectedUrl: null, hint: null },
  ]);
  await assertForbidden(await upgrade(app, `${LOCAL}/twilio/relay`, {}));
  assert.deepEqual(rejections.list().map((r) => `${r.method} ${r.path} ${r.why}`), [
    "GET /twilio/relay missing",
    "POST /twilio/status mismatch",
  ]);
  // A request that passes is not kept.
  await assertHandled(
    await post(app, `${LOCAL}/twilio/voice`, CALL, sign(`${PUBLIC_URL}/twilio/voice`, CALL)),
    "POST /twilio/voice",
  );
  assert.equal(rejections.list().length, 2);
});

Deno.test("the hint names PUBLIC_URL, and says when it is not set", () => {
  assert.match(mismatchHint(PUBLIC_URL), /^check PUBLIC_URL: it must be the base/);
  assert.match(mismatchHint(null), /^check PUBLIC_URL: it is not set/);
});
