import assert from "node:assert/strict";
import { kvPathProblem } from "./instance_config.ts";
import { ConfigError, loadConfig } from "./config.ts";

Deno.test("KV_PATH: files and :memory: need nothing; a KV Connect URL needs https and a token", () => {
  assert.equal(kvPathProblem("data/callbridge.kv", undefined), null);
  assert.equal(kvPathProblem(":memory:", undefined), null);
  assert.equal(kvPathProblem("https://api.deno.com/databases/abc/connect", "tok"), null);
  assert.equal(kvPathProblem("http://127.0.0.1:4512", "tok"), null, "a local denokv");
  assert.match(
    kvPathProblem("https://kv.example.com", undefined)!,
    /^DENO_KV_ACCESS_TOKEN must be set when KV_PATH is a KV Connect URL \(https:\/\/kv\.example\.com\)/,
  );
  assert.match(kvPathProblem("https://kv.example.com", "  ")!, /DENO_KV_ACCESS_TOKEN must be set/);
  assert.match(
    kvPathProblem("http://kv.example.com:4512", "tok")!,
    /^KV_PATH must be an https:\/\/ KV Connect URL \(http:\/\/ only for a denokv on this machine; got http:\/\/kv\.example\.com:4512\)/,
  );
  assert.match(kvPathProblem("ftp://kv.example.com", "tok")!, /^KV_PATH must be an https:\/\//);
  assert.match(
    kvPathProblem("https://user:pw@kv.example.com", "tok")!,
    /^KV_PATH must not carry credentials/,
  );
  assert.doesNotMatch(kvPathProblem("https://user:pw@kv.example.com", "tok")!, /pw/);
});

Deno.test("instance: INSTANCE_ID or a generated one, APP_VERSION, the presence TTL, watch only on Deploy", () => {
  const named = loadConfig({ INSTANCE_ID: "web-2", APP_VERSION: "1.4.0", PRESENCE_TTL_MS: "2000" });
  assert.deepEqual(named.instance, {
    id: "web-2",
    version: "1.4.0",
    presenceTtlMs: 2000,
    liveUpdates: "poll",
  });
  const a = loadConfig({}).instance;
  const b = loadConfig({}).instance;
  assert.match(a.id, /^i-[0-9a-f]{8}$/);
  assert.notEqual(a.id, b.id, "each start-up its own id");
  assert.deepEqual([a.version, a.presenceTtlMs], ["dev", 15_000]);
  const deploy = loadConfig({
    DENO_DEPLOYMENT_ID: "dep123",
    PUBLIC_URL: "https://x.deno.dev",
  }).instance;
  assert.deepEqual([deploy.version, deploy.liveUpdates], ["dep123", "watch"]);
  assert.throws(
    () => loadConfig({ INSTANCE_ID: "no spaces", KV_PATH: "https://kv.example.com" }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [
        "DENO_KV_ACCESS_TOKEN must be set when KV_PATH is a KV Connect URL " +
        "(https://kv.example.com): the denokv --access-token, or a Deno Deploy access token",
        'INSTANCE_ID must be letters, digits, . _ - (at most 63) (got "no spaces")',
      ]);
      return true;
    },
  );
});
