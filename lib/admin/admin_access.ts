/**
 * Who may open the admin side — the pages, `/metrics`, the simulator and any route `app.ts` does
 * not list as public (the guard is deny by default there): with `ADMIN_PASSWORD` set, anyone
 * with it (HTTP basic auth, user `admin`); without it, only a browser on this machine. A request
 * that reached the service through a tunnel or proxy on this machine is not local: its Host is
 * not a loopback name, or it carries forwarding headers.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { basicAuth } from "hono/basic-auth";
import { bodyLimit } from "hono/body-limit";
import { every } from "hono/combine";
import { csrf } from "hono/csrf";
import { getConnInfo } from "hono/deno";
import { secureHeaders } from "hono/secure-headers";
import { HTTPException } from "hono/http-exception";
import type { Logger } from "../platform/log.ts";
import { publicBaseUrl } from "../platform/public_url.ts";
import { RateLimiter } from "../platform/rate_limit.ts";

/** The user name of the admin pages' basic auth. */
export const ADMIN_USER = "admin";

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);
/** Any of these means a proxy handled the request: it is not from this machine's browser. */
const FORWARDING_HEADERS = [
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

/** Options of {@link adminAccess}. */
export interface AdminAccessOptions {
  password: string | null;
  /**
   * Without a password, whether local clients may in at all: only while the server listens on
   * loopback alone (a reverse proxy or a TCP forwarder in front would make everyone local).
   */
  localAllowed: boolean;
  /** Whether the request comes straight from this machine (tests inject it). */
  isLocal?: (c: Context) => boolean;
  /** Where failed logins are logged. */
  log?: Logger;
}

/**
 * Middleware factory: basic auth when a password is set; else, while the server listens on
 * loopback only, local clients pass; everyone else gets a page telling the operator to set
 * `ADMIN_PASSWORD`.
 */
export function adminAccess(options: AdminAccessOptions): MiddlewareHandler {
  if (options.password) {
    return throttledLogin(
      basicAuth({ username: ADMIN_USER, password: options.password, realm: "Callbridge admin" }),
      options,
    );
  }
  const isLocal = options.isLocal ?? isLocalRequest;
  return async (c, next) => {
    if (options.localAllowed && isLocal(c)) return await next();
    return c.html(SET_PASSWORD_PAGE, 403);
  };
}

/** Failed logins a client may make in {@link LOGIN_WINDOW_MS} before it is refused (429). */
export const MAX_FAILED_LOGINS = 10;
const LOGIN_WINDOW_MS = 15 * 60 * 1000;

/**
 * Basic auth that counts failed logins per client address: each is logged with the address,
 * and after {@link MAX_FAILED_LOGINS} in 15 minutes the client gets 429 until the window
 * passes. A request without credentials (the browser's first try) is not a failure.
 */
function throttledLogin(auth: MiddlewareHandler, options: AdminAccessOptions): MiddlewareHandler {
  const failures = new RateLimiter({ limit: MAX_FAILED_LOGINS, windowMs: LOGIN_WINDOW_MS });
  return async (c, next) => {
    const client = clientAddress(c);
    const wait = failures.retryAfterMs(client);
    if (wait > 0) {
      c.header("Retry-After", String(Math.ceil(wait / 1000)));
      return c.text("Too many failed logins; try again later.", 429);
    }
    try {
      await auth(c, next);
    } catch (err) {
      if (!(err instanceof HTTPException) || err.status !== 401) throw err;
      if (c.req.header("authorization")) {
        failures.hit(client);
        options.log?.warn("admin.login_failed", { client, path: c.req.path });
      }
      throw err;
    }
    if (c.req.header("authorization")) failures.reset(client);
  };
}

/** The peer address of `c`'s connection ("unknown" when not served by Deno.serve). */
function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** True for a request whose peer is a loopback address and that no proxy forwarded. */
export function isLocalRequest(c: Context): boolean {
  let address: string | undefined;
  try {
    address = getConnInfo(c).remote.address;
  } catch {
    return false; // no connection info (not served by Deno.serve)
  }
  if (!address || !isLoopbackAddress(address)) return false;
  if (FORWARDING_HEADERS.some((h) => c.req.header(h) !== undefined)) return false;
  const host = URL.parse(`http://${c.req.header("host") ?? ""}`)?.hostname ?? "";
  return LOOPBACK_HOSTS.has(host);
}

function isLoopbackAddress(address: string): boolean {
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

const SET_PASSWORD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Callbridge: set ADMIN_PASSWORD</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>
<h1>Set ADMIN_PASSWORD to open the admin pages</h1>
<p>This service has no <code>ADMIN_PASSWORD</code>, so its admin pages, <code>/metrics</code> and
the simulator answer only to a browser on the same machine, and only while the service listens
on loopback (<code>HOSTNAME=127.0.0.1</code>, the default of <code>deno task dev</code>) — never
through a proxy, and never in production.</p>
<p>Set the <code>ADMIN_PASSWORD</code> environment variable and restart (or redeploy); then sign
in as user <code>admin</code> with that password.</p>
</main></body></html>`;

/** Options of {@link adminGuard}. */
export interface AdminGuardOptions extends AdminAccessOptions {
  /** PUBLIC_URL: forms posted from its origin pass the CSRF check. */
  publicUrl: string | null;
  /** Largest request body, in bytes. */
  maxBodyBytes?: number;
}

/**
 * Everything the admin routes need, in order: secure headers (a CSP that allows only this
 * origin's scripts, styles, event streams and sockets), access, CSRF checks on forms (same
 * origin, or the public URL's), and a body limit. `app.ts` puts it in front of every path but
 * the public ones, so a route nobody thought to protect is protected.
 */
export function adminGuard(options: AdminGuardOptions): MiddlewareHandler {
  return every(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    }),
    adminAccess(options),
    csrf({
      origin: (origin, c) =>
        origin === new URL(c.req.url).origin ||
        origin === new URL(publicBaseUrl(options.publicUrl, c.req.raw)).origin,
    }),
    bodyLimit({
      maxSize: options.maxBodyBytes ?? 256 * 1024,
      onError: (c) => c.text("Payload Too Large", 413),
    }),
  );
}
