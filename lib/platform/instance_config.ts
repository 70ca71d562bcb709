/**
 * What makes one instance one of many: where the shared Deno KV is (`KV_PATH`: a file, `:memory:`,
 * a KV Connect URL, or the platform's own on Deno Deploy) and who this instance is (`INSTANCE_ID`,
 * `APP_VERSION`, and how long its presence entries live, `PRESENCE_TTL_MS`). Checked at start-up,
 * each problem naming the variable; the KV access token is only checked to be set, never kept.
 *
 * @module
 */

import type { EnvReader } from "./env_reader.ts";

/** Who this instance is, as the other instances and the pages see it. */
export interface InstanceConfig {
  /** `INSTANCE_ID`, else generated at start-up (`i-` and 8 hex digits). */
  id: string;
  /** `APP_VERSION`, else Deno Deploy's `DENO_DEPLOYMENT_ID`, else `dev`. */
  version: string;
  /** A live call's presence entry expires this long after its last renewal. */
  presenceTtlMs: number;
  /** How the dashboard learns of other instances' calls: `watch` (Deploy's KV) or `poll`. */
  liveUpdates: "watch" | "poll";
}

/** Where KV is, as `Deno.openKv` takes it. */
export type KvLocation =
  | { kind: "default" }
  | { kind: "memory" }
  | { kind: "file"; path: string }
  | { kind: "remote"; url: string };

/** Default life of a presence entry: renewed every third of it while the call lives. */
export const PRESENCE_TTL_MS = 15_000;
const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Reads `INSTANCE_ID`, `APP_VERSION` and `PRESENCE_TTL_MS`. */
export function readInstanceConfig(
  env: Record<string, string | undefined>,
  r: EnvReader,
  kv: KvLocation,
): InstanceConfig {
  const id = r.optional("INSTANCE_ID", INSTANCE_ID, "letters, digits, . _ - (at most 63)") ??
    `i-${crypto.randomUUID().slice(0, 8)}`;
  return {
    id,
    version: r.string("APP_VERSION", env.DENO_DEPLOYMENT_ID || "dev"),
    presenceTtlMs: r.int("PRESENCE_TTL_MS", PRESENCE_TTL_MS, { min: 300, max: 600_000 }),
    // Local KV does not tell one process of another's writes (denoland/deno#21640), and
    // denokv does not serve watches: only Deploy's own KV is watched.
    liveUpdates: kv.kind === "default" && env.DENO_DEPLOYMENT_ID ? "watch" : "poll",
  };
}

/**
 * `KV_PATH` checked: a KV Connect URL must be https (http only to this machine, a local
 * `denokv`), have a host, and come with `DENO_KV_ACCESS_TOKEN`, which Deno reads itself.
 */
export function readKvLocation(
  env: Record<string, string | undefined>,
  r: EnvReader,
): { path: string; location: KvLocation } {
  const path = r.string("KV_PATH", env.DENO_DEPLOYMENT_ID ? "" : "data/callbridge.kv", {
    allowEmpty: true,
  });
  const problem = kvPathProblem(path, env.DENO_KV_ACCESS_TOKEN);
  if (problem) r.problems.push(problem);
  return { path, location: kvLocationOf(path) };
}

/** What is wrong with `KV_PATH=path` (and its access token), or null. */
export function kvPathProblem(path: string, accessToken: string | undefined): string | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return null;
  const url = URL.parse(path);
  const loopback = url !== null && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (!url || !url.hostname) {
    return `KV_PATH must be a file path, :memory: or a KV Connect URL like ` +
      `https://api.deno.com/databases/<id>/connect (got an unparsable URL)`;
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    return `KV_PATH must be an https:// KV Connect URL (http:// only for a denokv on this ` +
      `machine; got ${url.protocol}//${url.host})`;
  }
  if (url.username || url.password) {
    return "KV_PATH must not carry credentials in the URL: set DENO_KV_ACCESS_TOKEN instead";
  }
  if (!accessToken?.trim()) {
    return `DENO_KV_ACCESS_TOKEN must be set when KV_PATH is a KV Connect URL ` +
      `(${url.origin}): the denokv --access-token, or a Deno Deploy access token`;
  }
  return null;
}

function kvLocationOf(path: string): KvLocation {
  if (path === "") return { kind: "default" };
  if (path === ":memory:") return { kind: "memory" };
  if (/^https?:\/\//i.test(path)) return { kind: "remote", url: path };
  return { kind: "file", path };
}
