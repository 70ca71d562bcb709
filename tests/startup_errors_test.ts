/**
 * Start-up failures of `main.ts`, run with the `start` task's own flags: a port in use, a
 * `HOSTNAME` that is a machine name (as shells and containers set it), an address not on this
 * machine, a KV path that cannot be opened and a KV Connect URL without its token or out of reach
 * each exit 1 with one line naming the variable and what to do — never a stack trace.
 */

import assert from "node:assert/strict";
import { isEnvFileFlag, PROJECT_DIR, taskFlags } from "./helpers/main_process.ts";
import { within } from "./helpers/relay_harness.ts";

/** Runs `main.ts` with the start task's flags and only `env`; resolves with its exit and stderr. */
async function startFails(env: Record<string, string>) {
  const flags = (await taskFlags("start")).filter((flag) => !isEnvFileFlag(flag));
  const output = await within(
    new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, "main.ts"],
      cwd: PROJECT_DIR,
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "",
        NO_COLOR: "1",
        KV_PATH: ":memory:",
        ...env,
      },
      stdin: "null",
    }).output(),
    30_000,
    "main.ts to exit",
  );
  const stderr = new TextDecoder().decode(output.stderr);
  // What the service itself printed (not Deno's warning about permissions in deno.json).
  const lines = stderr.split("\n").filter((l) => l.trim() && !l.startsWith("Warning "))
    .filter((l) => !l.startsWith("{")); // the JSON log lines before the failure
  return { code: output.code, lines, stderr };
}

/** Asserts no line of `stderr` is a stack frame. */
function assertNoStack(stderr: string): void {
  assert.ok(!/^\s+at /m.test(stderr), `a stack trace was printed:\n${stderr}`);
}

Deno.test("a port in use: exit 1 and one line naming PORT", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const { code, lines, stderr } = await startFails({ PORT: String(port) });
    assert.equal(code, 1);
    assert.deepEqual(lines, [
      `PORT ${port} is already in use on 127.0.0.1: another process listens there ` +
      `(stop it, or set PORT to a free port)`,
    ]);
    assertNoStack(stderr);
  } finally {
    taken.close();
  }
});

Deno.test("HOSTNAME set to a machine's name: exit 1 naming HOSTNAME, nothing bound", async () => {
  const { code, lines, stderr } = await startFails({ HOSTNAME: "vm", PORT: "0" });
  assert.equal(code, 1);
  assert.deepEqual(lines, [
    "Invalid configuration:",
    "  - HOSTNAME must be an IP address to listen on, such as 127.0.0.1 (this machine only) or " +
    '0.0.0.0 (every interface) (got "vm"; a shell or container may set HOSTNAME to the ' +
    "machine's name: set it explicitly)",
  ]);
  assertNoStack(stderr);
});

Deno.test("HOSTNAME that is not this machine's address: exit 1 saying so", async () => {
  const { code, lines, stderr } = await startFails({
    HOSTNAME: "192.0.2.1", // TEST-NET-1: never a local address
    PORT: "0",
    PUBLIC_URL: "https://calls.example.com",
    ADMIN_PASSWORD: "a-long-enough-password",
  });
  assert.equal(code, 1);
  assert.deepEqual(lines, [
    "HOSTNAME 192.0.2.1 is not an address of this machine: use 127.0.0.1 (this machine only) " +
    "or 0.0.0.0 (every interface)",
  ]);
  assertNoStack(stderr);
});

Deno.test("a KV path outside data/ or one that is a folder: exit 1 naming KV_PATH", async () => {
  const outside = await startFails({ KV_PATH: "/etc/callbridge.kv", PORT: "0" });
  assert.equal(outside.code, 1);
  assert.equal(outside.lines[0], "Invalid configuration:");
  assert.match(
    outside.lines[1],
    /^ {2}- KV_PATH: cannot open "\/etc\/callbridge\.kv" \(.*write access.*\); the service may write only under data\//,
  );
  assert.equal(outside.lines.length, 2);
  assertNoStack(outside.stderr);
  await Deno.mkdir(`${PROJECT_DIR}data`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${PROJECT_DIR}data`, prefix: "test-" });
  try {
    const folder = await startFails({ KV_PATH: dir, PORT: "0" });
    assert.equal(folder.code, 1);
    assert.ok(folder.lines[1].startsWith(`  - KV_PATH: cannot open "${dir}" (`), folder.lines[1]);
    assertNoStack(folder.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KV_PATH as a KV Connect URL: without a token, or unreachable, exit 1 naming it", async () => {
  const noToken = await startFails({ KV_PATH: "https://kv.example.com", PORT: "0" });
  assert.equal(noToken.code, 1);
  assert.deepEqual(noToken.lines, [
    "Invalid configuration:",
    "  - DENO_KV_ACCESS_TOKEN must be set when KV_PATH is a KV Connect URL " +
    "(https://kv.example.com): the denokv --access-token, or a Deno Deploy access token",
  ]);
  assertNoStack(noToken.stderr);
  const plain = await startFails({
    KV_PATH: "http://kv.example.com:4512",
    DENO_KV_ACCESS_TOKEN: "kv-token-5150",
    PORT: "0",
  });
  assert.equal(plain.code, 1);
  assert.match(plain.lines[1], /^ {2}- KV_PATH must be an https:\/\/ KV Connect URL/);
  // A local denokv that is not running: the open fails at start, named, the token not shown.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const down = await startFails({
    KV_PATH: `http://127.0.0.1:${port}`,
    DENO_KV_ACCESS_TOKEN: "kv-token-5150",
    PORT: "0",
  });
  assert.equal(down.code, 1);
  assert.ok(
    down.lines[1].startsWith(`  - KV_PATH: cannot open "http://127.0.0.1:${port}" (`),
    down.lines[1],
  );
  assert.doesNotMatch(down.stderr, /kv-token-5150/);
  assertNoStack(down.stderr);
});
