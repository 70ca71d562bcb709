/**
 * Who may open the admin pages, `/metrics` and the simulator: with `ADMIN_PASSWORD` set, anyone
 * with it (HTTP basic auth, user `admin`); without it, only a browser on this machine. A request
 * that reached the service through a tunnel or proxy on this machine is not local: its Host is
 * not a loopback name, or it carries forwarding headers.
 */

import type { Context, MiddlewareHandler } from "hono";
import { basicAuth } from "hono/basic-auth";
import { bodyLimit } from "hono/body-limit";
import { every } from "hono/combine";
import { csrf } from "hono/csrf";
import { getConnInfo } from "hono/deno";
import { secureHeaders } from "hono/secure-headers";
import { publicBaseUrl } from "./public_url.ts";

/** The user name of the admin pages' basic auth. */
export const ADMIN_USER = "admin";

/** Paths served to admins only (pages, their feeds and forms, metrics). */
const ADMIN_PREFIXES = ["/calls/", "/agents/", "/simulator/", "/live/"];
const ADMIN_PATHS = new Set(["/", "/calls", "/agents", "/config", "/simulator", "/metrics"]);
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);
const FORWARDING_HEADERS = [
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-real-ip",
  "cf-connecting-ip",
];

/** Whether `path` is one of the admin routes. */
export function isAdminPath(path: string): boolean {
  return ADMIN_PATHS.has(path) || ADMIN_PREFIXES.some((p) => path.startsWith(p));
}

/** Options of {@link adminAccess}. */
export interface AdminAccessOptions {
  password: string | null;
  /** Whether the request comes straight from this machine (tests inject it). */
  isLocal?: (c: Context) => boolean;
}

/**
 * Middleware factory: basic auth when a password is set; else local clients pass and everyone
 * else gets a page telling the operator to set `ADMIN_PASSWORD`.
 */
export function adminAccess(options: AdminAccessOptions): MiddlewareHandler {
  if (options.password) {
    return basicAuth({
      username: ADMIN_USER,
      password: options.password,
      realm: "Callbridge admin",
    });
  }
  const isLocal = options.isLocal ?? isLocalRequest;
  return async (c, next) => {
    if (isLocal(c)) return await next();
    return c.html(SET_PASSWORD_PAGE, 403);
  };
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
the simulator answer only to a browser on the same machine (not through a tunnel or proxy).</p>
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
 * origin, or the public URL's), and a body limit.
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
