/**
 * Who may open the admin side, on a small Hono app whose peer address comes from the env that
 * `app.request` passes (as `Deno.serve` would): basic auth as `admin` with `ADMIN_PASSWORD`;
 * failed logins counted per address (429 with `Retry-After` after ten in 15 minutes, a request
 * without credentials not counted, a login forgetting them); without a password, local clients
 * only while `localAllowed`; what makes a request local (loopback peer, no forwarding header, a
 * loopback Host); the set-password page; and the guard's CSP, CSRF check and body limit.
 */

import assert from "node:assert/strict";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { Logger } from "../platform/log.ts";
import {
  ADMIN_USER,
  adminAccess,
  type AdminAccessOptions,
  adminGuard,
  type AdminGuardOptions,
  isLocalRequest,
  MAX_FAILED_LOGINS,
} from "./admin_access.ts";

const PASSWORD = "correct horse battery staple";
const LOCAL = "http://127.0.0.1:8000";
const PUBLIC_URL = "https://calls.example.com";
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; " +
  "object-src 'none'";
/** Fifteen minutes, the window failed logins are counted in. */
const WINDOW_MS = 15 * 60 * 1000;

type Line = Record<string, unknown>;
/** What `Deno.serve` hands Hono as its env: the peer's address (none when undefined). */
type Env = { remoteAddr: Partial<Deno.NetAddr> } | undefined;

/** The env of a connection from `hostname` (Hono's `getConnInfo` reads `remoteAddr`). */
function peer(hostname: string): Env {
  return { remoteAddr: { hostname, port: 50123, transport: "tcp" } };
}

function basic(password: string, user = ADMIN_USER): Record<string, string> {
  return { authorization: `Basic ${btoa(`${user}:${password}`)}` };
}

function capture(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log = new Logger("debug", {}, (line) => {
    const { time: _, ...rest } = JSON.parse(line);
    lines.push(rest);
  });
  return { log, lines };
}

/** An app with `middleware` in front of a page that says it was reached. */
function appWith(middleware: MiddlewareHandler): Hono {
  const app = new Hono();
  app.use("*", middleware);
  app.all("*", async (c) => {
    const body = c.req.method === "POST" ? (await c.req.arrayBuffer()).byteLength : 0;
    return c.text(`admin ${c.req.method} ${c.req.path} ${body}`);
  });
  return app;
}

/** A request that did not come through `Deno.serve`: Hono has no env, so no peer address. */
const NO_CONNECTION = "no connection";

/** A GET of `path` from `env`'s peer with `headers`. */
async function get(
  app: Hono,
  path: string,
  headers: Record<string, string> = {},
  env: Env | typeof NO_CONNECTION = peer("203.0.113.5"),
): Promise<Response> {
  return await app.request(`${LOCAL}${path}`, { headers }, env === NO_CONNECTION ? undefined : env);
}

/** `res` is the page behind the middleware: `what` is its method, path and body size. */
async function assertReached(res: Response, what = "GET / 0"): Promise<void> {
  assert.equal(res.status, 200);
  assert.equal(await res.text(), `admin ${what}`);
}

async function assertUnauthorized(res: Response): Promise<void> {
  assert.equal(res.status, 401);
  assert.equal(res.headers.get("www-authenticate"), 'Basic realm="Callbridge admin"');
  await res.body?.cancel();
}

async function assertThrottled(res: Response, retryAfter: string): Promise<void> {
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), retryAfter);
  assert.equal(await res.text(), "Too many failed logins; try again later.");
}

async function assertSetPasswordPage(res: Response): Promise<void> {
  assert.equal(res.status, 403);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  const html = await res.text();
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<h1>Set ADMIN_PASSWORD to open the admin pages<\/h1>/);
  assert.match(html, /sign\s+in as user <code>admin<\/code> with that password/);
}

/**
 * Runs `body` with `Date.now` reading `clock.now`, so the 15-minute window of failed logins (the
 * limiter takes its time source when the middleware is built) moves only when the test says.
 */
async function withClock(body: (clock: { now: number }) => Promise<void>): Promise<void> {
  const realNow = Date.now;
  const clock = { now: 1_700_000_000_000 };
  Date.now = () => clock.now;
  try {
    await body(clock);
  } finally {
    Date.now = realNow;
  }
}

/** The password-protected access, with its log captured. */
function passwordApp(extra: Partial<AdminAccessOptions> = {}) {
  const { log, lines } = capture();
  const app = appWith(adminAccess({ password: PASSWORD, localAllowed: true, log, ...extra }));
  return { app, lines };
}

function failedLogin(client: string, path = "/"): Line {
  return { level: "warn", event: "admin.login_failed", client, path };
}

Deno.test("with a password: basic auth as user admin, realm Callbridge admin", async () => {
  assert.equal(ADMIN_USER, "admin");
  const { app, lines } = passwordApp();
  await assertReached(await get(app, "/", basic(PASSWORD)));
  await assertReached(await get(app, "/config", basic(PASSWORD)), "GET /config 0");
  await assertUnauthorized(await get(app, "/"));
  await assertUnauthorized(await get(app, "/", basic("wrong")));
  await assertUnauthorized(await get(app, "/", basic(PASSWORD, "root")));
  assert.deepEqual(lines, [failedLogin("203.0.113.5"), failedLogin("203.0.113.5")]);
});

Deno.test("with a password even a local client must sign in", async () => {
  const { app } = passwordApp({ isLocal: () => true });
  await assertUnauthorized(await get(app, "/", {}, peer("127.0.0.1")));
  await assertReached(await get(app, "/", basic(PASSWORD), peer("127.0.0.1")));
});

Deno.test("ten failed logins: then 429 with Retry-After until 15 minutes have passed", async () => {
  assert.equal(MAX_FAILED_LOGINS, 10);
  await withClock(async (clock) => {
    const { app } = passwordApp();
    const start = clock.now;
    for (let i = 0; i < 10; i++) {
      await assertUnauthorized(await get(app, "/", basic(`wrong ${i}`)));
    }
    // Refused before the password is even looked at: the right one too.
    await assertThrottled(await get(app, "/", basic(PASSWORD)), "900");
    await assertThrottled(await get(app, "/"), "900");
    clock.now = start + 500; // 899.5 s to go: rounded up
    await assertThrottled(await get(app, "/", basic(PASSWORD)), "900");
    clock.now = start + 600_000;
    await assertThrottled(await get(app, "/", basic(PASSWORD)), "300");
    clock.now = start + WINDOW_MS - 1; // 1 ms to go
    await assertThrottled(await get(app, "/", basic(PASSWORD)), "1");
    clock.now = start + WINDOW_MS; // the window has passed
    await assertReached(await get(app, "/", basic(PASSWORD)));
  });
});

Deno.test("nine failed logins are not yet throttled; the window slides", async () => {
  await withClock(async (clock) => {
    const { app } = passwordApp();
    const start = clock.now;
    await assertUnauthorized(await get(app, "/", basic("wrong")));
    clock.now = start + 60_000;
    for (let i = 0; i < 8; i++) await assertUnauthorized(await get(app, "/", basic("wrong")));
    // Nine so far: the tenth attempt is still checked.
    await assertUnauthorized(await get(app, "/", basic("wrong")));
    await assertThrottled(await get(app, "/", basic(PASSWORD)), "840");
    // The first failure leaves the window: nine are left, so one more attempt is let through.
    clock.now = start + WINDOW_MS;
    await assertReached(await get(app, "/", basic(PASSWORD)));
  });
});

Deno.test("a request without credentials (a browser's first try) is no failed login", async () => {
  await withClock(async () => {
    const { app, lines } = passwordApp();
    for (let i = 0; i < 25; i++) await assertUnauthorized(await get(app, "/"));
    await assertReached(await get(app, "/", basic(PASSWORD)));
    assert.deepEqual(lines, []);
  });
});

Deno.test("a successful login forgets the client's failed ones", async () => {
  await withClock(async () => {
    const { app, lines } = passwordApp();
    for (let i = 0; i < 9; i++) await assertUnauthorized(await get(app, "/", basic("wrong")));
    await assertReached(await get(app, "/", basic(PASSWORD)));
    for (let i = 0; i < 9; i++) await assertUnauthorized(await get(app, "/", basic("wrong")));
    // 18 failures in all, but only 9 since the login.
    await assertReached(await get(app, "/", basic(PASSWORD)));
    assert.equal(lines.length, 18);
  });
});

Deno.test("failed logins count per client address, each logged with it and the path", async () => {
  await withClock(async () => {
    const { app, lines } = passwordApp();
    const attacker = peer("198.51.100.7");
    for (let i = 0; i < 10; i++) {
      await assertUnauthorized(await get(app, "/calls/CA1", basic("wrong"), attacker));
    }
    await assertThrottled(await get(app, "/", basic(PASSWORD), attacker), "900");
    // Another address is not held back by them.
    await assertReached(await get(app, "/", basic(PASSWORD), peer("198.51.100.8")));
    assert.deepEqual(lines, Array(10).fill(failedLogin("198.51.100.7", "/calls/CA1")));
  });
});

Deno.test("without connection info a client is logged and counted as unknown", async () => {
  await withClock(async () => {
    const { app, lines } = passwordApp();
    const noAddress: Env = { remoteAddr: { port: 1, transport: "tcp" } };
    for (let i = 0; i < 5; i++) {
      await assertUnauthorized(await get(app, "/", basic("x"), NO_CONNECTION));
    }
    for (let i = 0; i < 5; i++) {
      await assertUnauthorized(await get(app, "/", basic("x"), noAddress));
    }
    // Both kinds share the one key: ten failures in all.
    await assertThrottled(await get(app, "/", basic(PASSWORD), NO_CONNECTION), "900");
    await assertThrottled(await get(app, "/", basic(PASSWORD), noAddress), "900");
    await assertReached(await get(app, "/", basic(PASSWORD), peer("203.0.113.5")));
    assert.deepEqual(lines, Array(10).fill(failedLogin("unknown")));
  });
});

Deno.test("no password: local clients pass only if localAllowed; others get the page", async () => {
  const cases: [boolean, boolean, number][] = [
    [true, true, 200],
    [true, false, 403],
    [false, true, 403],
    [false, false, 403],
  ];
  for (const [localAllowed, local, status] of cases) {
    const seen: Context[] = [];
    const app = appWith(adminAccess({
      password: null,
      localAllowed,
      isLocal: (c) => {
        seen.push(c);
        return local;
      },
    }));
    const res = await get(app, "/config", basic("anything"));
    if (status === 200) await assertReached(res, "GET /config 0");
    else await assertSetPasswordPage(res);
    assert.equal(seen.length, localAllowed ? 1 : 0, `asked whether local: ${localAllowed}`);
    if (localAllowed) assert.equal(seen[0].req.path, "/config");
  }
});

Deno.test("no password and no isLocal: isLocalRequest decides from the connection", async () => {
  const app = appWith(adminAccess({ password: null, localAllowed: true }));
  await assertReached(await get(app, "/", { host: "localhost:8000" }, peer("127.0.0.1")));
  await assertSetPasswordPage(await get(app, "/", { host: "localhost:8000" }, peer("10.0.0.2")));
  await assertSetPasswordPage(
    await get(app, "/", { host: "localhost:8000", "x-forwarded-for": "1.2.3.4" }, peer("::1")),
  );
  await assertSetPasswordPage(await get(app, "/", { host: "localhost:8000" }, NO_CONNECTION));
});

/** Whether isLocalRequest calls a request with `headers` from `env` local. */
async function isLocal(headers: Record<string, string>, env: Env): Promise<boolean> {
  const app = new Hono();
  app.get("*", (c) => c.json(isLocalRequest(c)));
  const res = await app.request(`${LOCAL}/`, { headers }, env);
  assert.equal(res.status, 200);
  return await res.json();
}

Deno.test("isLocalRequest: a loopback peer (v4, v6, v4-mapped) with a loopback Host", async () => {
  const host = { host: "localhost:8000" };
  for (const address of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) {
    assert.equal(await isLocal(host, peer(address)), true, address);
  }
  const others = [
    "10.0.0.1",
    "192.168.1.127",
    "128.0.0.1",
    "1.127.0.0",
    "::2",
    "::1:2",
    "fe80::1",
    "::ffff:10.0.0.1",
    "::ffff:128.0.0.1",
    "",
  ];
  for (const address of others) assert.equal(await isLocal(host, peer(address)), false, address);
});

Deno.test("isLocalRequest: no connection info, or none of its address, is not local", async () => {
  const host = { host: "localhost:8000" };
  assert.equal(await isLocal(host, undefined), false);
  assert.equal(await isLocal(host, { remoteAddr: { port: 1, transport: "tcp" } }), false);
});

Deno.test("isLocalRequest: any forwarding header means a proxy handled it", async () => {
  const headers = [
    "forwarded",
    "via",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-forwarded-server",
    "x-real-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "fastly-client-ip",
    "x-original-forwarded-for",
  ];
  for (const name of headers) {
    for (const value of ["127.0.0.1", ""]) {
      const forwarded = { host: "localhost:8000", [name]: value };
      assert.equal(await isLocal(forwarded, peer("127.0.0.1")), false, `${name}: "${value}"`);
    }
  }
  // Other headers are no sign of a proxy.
  const plain = { host: "localhost:8000", "user-agent": "x", referer: "http://localhost:8000/" };
  assert.equal(await isLocal(plain, peer("127.0.0.1")), true);
});

Deno.test("isLocalRequest: only a loopback name in Host (a tunnel sends its own)", async () => {
  const loopback = [
    "localhost",
    "localhost:8000",
    "LocalHost:8000",
    "127.0.0.1",
    "127.0.0.1:8000",
    "[::1]",
    "[::1]:8000",
  ];
  for (const host of loopback) assert.equal(await isLocal({ host }, peer("127.0.0.1")), true, host);
  const others = [
    "abc.ngrok.app",
    "localhost.evil.example",
    "127.0.0.1.nip.io",
    "127.0.0.2:8000",
    "[::2]:8000",
    "::1",
    "192.168.1.10:8000",
    "",
  ];
  for (const host of others) assert.equal(await isLocal({ host }, peer("127.0.0.1")), false, host);
  // No Host header at all.
  assert.equal(await isLocal({}, peer("127.0.0.1")), false);
});

/** The guard with a local client in, unless `options` say otherwise. */
function guardApp(options: Partial<AdminGuardOptions> = {}): Hono {
  return appWith(adminGuard({
    password: null,
    localAllowed: true,
    isLocal: () => true,
    publicUrl: PUBLIC_URL,
    ...options,
  }));
}

/** A POST of `body` with `headers` (a form unless the content type says otherwise). */
async function postTo(
  app: Hono,
  headers: Record<string, string>,
  body: string | Uint8Array<ArrayBuffer> = "a=1",
  env: Env = peer("127.0.0.1"),
): Promise<Response> {
  return await app.request(`${LOCAL}/agents/sales`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  }, env);
}

Deno.test("adminGuard: secure headers, a CSP of this origin only, on the 403 page", async () => {
  const open = await get(guardApp(), "/");
  assert.equal(open.headers.get("content-security-policy"), CSP);
  assert.equal(open.headers.get("x-frame-options"), "SAMEORIGIN");
  assert.equal(open.headers.get("x-content-type-options"), "nosniff");
  await assertReached(open);
  const page = await get(guardApp({ isLocal: () => false }), "/");
  assert.equal(page.headers.get("content-security-policy"), CSP);
  await assertSetPasswordPage(page);
});

Deno.test("adminGuard: access is checked (password or local) before anything else", async () => {
  const locked = guardApp({ password: PASSWORD });
  await assertUnauthorized(await get(locked, "/"));
  // A forged cross-site form gets 401 too: the login comes before the CSRF check.
  await assertUnauthorized(await postTo(locked, { origin: "https://evil.example" }));
  await assertReached(await get(locked, "/", basic(PASSWORD)));
  await assertSetPasswordPage(await get(guardApp({ isLocal: () => false }), "/"));
  await assertSetPasswordPage(await get(guardApp({ localAllowed: false }), "/"));
});

Deno.test("adminGuard CSRF: forms from this origin or PUBLIC_URL's pass, others 403", async () => {
  const app = guardApp();
  await assertReached(await postTo(app, { origin: LOCAL }), "POST /agents/sales 3");
  await assertReached(await postTo(app, { origin: PUBLIC_URL }), "POST /agents/sales 3");
  await assertReached(
    await postTo(app, { "sec-fetch-site": "same-origin" }),
    "POST /agents/sales 3",
  );
  const forged: Record<string, string>[] = [
    { origin: "https://evil.example" },
    { origin: "http://localhost:8000" },
    { origin: "https://calls.example.com.evil.example" },
    {},
    { "sec-fetch-site": "cross-site" },
  ];
  for (const headers of forged) {
    const res = await postTo(app, headers);
    assert.equal(res.status, 403, JSON.stringify(headers));
    assert.equal(await res.text(), "Forbidden");
  }
  // A JSON body cannot come from a plain HTML form: no CSRF check.
  await assertReached(
    await postTo(app, { origin: "https://evil.example", "content-type": "application/json" }, "{}"),
    "POST /agents/sales 2",
  );
});

Deno.test("adminGuard CSRF without PUBLIC_URL: the origin rebuilt from the request", async () => {
  const app = guardApp({ publicUrl: null });
  const proxied = { host: "abc.ngrok.app", "x-forwarded-proto": "https" };
  await assertReached(
    await postTo(app, { ...proxied, origin: "https://abc.ngrok.app" }),
    "POST /agents/sales 3",
  );
  await assertReached(await postTo(app, { ...proxied, origin: LOCAL }), "POST /agents/sales 3");
  const res = await postTo(app, { ...proxied, origin: PUBLIC_URL });
  assert.equal(res.status, 403);
  await res.body?.cancel();
});

Deno.test("adminGuard: a CSRF refusal after a good login is not a failed login", async () => {
  await withClock(async () => {
    const { log, lines } = capture();
    const app = guardApp({ password: PASSWORD, log });
    const forged = { ...basic(PASSWORD), origin: "https://evil.example" };
    for (let i = 0; i < 12; i++) {
      const res = await postTo(app, forged, "a=1", peer("203.0.113.5"));
      assert.equal(res.status, 403);
      assert.equal(await res.text(), "Forbidden");
    }
    await assertReached(await get(app, "/", basic(PASSWORD)));
    assert.deepEqual(lines, []);
  });
});

Deno.test("adminGuard: bodies up to 256 KiB pass, one byte more is 413", async () => {
  const app = guardApp();
  const binary = { "content-type": "application/octet-stream" };
  const limit = 256 * 1024;
  await assertReached(
    await postTo(app, binary, new Uint8Array(limit)),
    `POST /agents/sales ${limit}`,
  );
  const over = await postTo(app, binary, new Uint8Array(limit + 1));
  assert.equal(over.status, 413);
  assert.equal(await over.text(), "Payload Too Large");
});

Deno.test("adminGuard: maxBodyBytes sets another limit", async () => {
  const app = guardApp({ maxBodyBytes: 10 });
  const binary = { "content-type": "application/octet-stream" };
  await assertReached(await postTo(app, binary, new Uint8Array(10)), "POST /agents/sales 10");
  const over = await postTo(app, binary, new Uint8Array(11));
  assert.equal(over.status, 413);
  assert.equal(await over.text(), "Payload Too Large");
});
