/**
 * `deno task scenarios --url` against a deployment that takes the connection and never answers
 * (a stuck proxy, an instance hung mid-request): each scenario ends as an error within its time
 * limit, and the run goes on, instead of waiting for ever.
 */

import assert from "node:assert/strict";
import { parseScenario } from "../lib/scenarios/scenario.ts";
import { runScenarios } from "../lib/scenarios/scenario_run.ts";
import { remoteTarget } from "../lib/scenarios/scenario_target.ts";

/** A TCP server on 127.0.0.1 that accepts every connection, reads it, and never answers. */
function silentServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      conn.readable.pipeTo(new WritableStream()).catch(() => {});
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get connections() {
      return conns.length;
    },
    async close() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* closed already */ }
      }
      await accepting;
    },
  };
}

Deno.test("a deployment that never answers: each scenario is an error in time", async () => {
  const server = silentServer();
  const parsed = parseScenario(
    JSON.stringify({
      caller: { turns: [{ hangUp: true }] },
      checks: [{ type: "ended", outcome: "caller-hangup" }],
    }),
    { file: "default/scenarios/hangs_up.json", agent: "default", tools: [] },
  );
  assert.ok(parsed.ok);
  let deadline: ReturnType<typeof setTimeout> | undefined;
  try {
    const run = runScenarios([parsed.scenario, { ...parsed.scenario, name: "again" }], {
      target: remoteTarget(server.url, null, { timeoutMs: 300 }),
      models: null,
      timeoutMs: 300,
    });
    // Far past both time limits: a run still going then would go on for ever.
    const stuck = new Promise<never>((_, reject) => {
      deadline = setTimeout(() => reject(new Error("the run is still waiting")), 10_000);
    });
    const results = await Promise.race([run, stuck]);
    assert.deepEqual(results.map((r) => [r.scenario, r.status]), [
      ["hangs_up", "error"],
      ["again", "error"],
    ]);
    assert.match(results[0].error!, /\/simulator\/token did not answer within 300 ms/);
    assert.equal(server.connections, 2, "each scenario asked the deployment once");
  } finally {
    clearTimeout(deadline);
    await server.close();
  }
});
