/**
 * `deno task scenarios --url` against a deployment that takes the connection and never answers
 * (a stuck proxy, an instance hung mid-request): each scenario ends as an error within its time
 * limit, and the run goes on, instead of waiting for ever; so does one that starts the call and
 * then never answers the call's event stream.
 */

import assert from "node:assert/strict";
import { parseScenario } from "../lib/scenarios/scenario.ts";
import { runScenarios } from "../lib/scenarios/scenario_run.ts";
import { remoteTarget } from "../lib/scenarios/scenario_target.ts";
import type { SimulatedCall } from "../lib/calls/simulated_call.ts";

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

/**
 * An HTTP server on 127.0.0.1 that starts a simulated call as `POST /simulator/token` does, and
 * never answers `GET /simulator/events/…` (until it is closed).
 */
function hungEventsServer() {
  const calls: SimulatedCall[] = [];
  const eventsAsked: string[] = [];
  let release = () => {};
  const hung = new Promise<void>((resolve) => (release = resolve));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "POST" && path === "/simulator/token") {
      const call: SimulatedCall = {
        token: "sim-token",
        protocol: "conversation-relay",
        callSid: `CA${crypto.randomUUID().replaceAll("-", "")}`,
        greeting: "Hello!",
        from: "client:simulator",
        reference: `scn-${crypto.randomUUID()}`,
      };
      calls.push(call);
      return Response.json(call);
    }
    if (req.method === "GET" && path.startsWith("/simulator/events/")) {
      eventsAsked.push(path);
      await hung;
      return new Response(null, { status: 503 });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    calls,
    eventsAsked,
    async close() {
      release();
      await server.shutdown();
    },
  };
}

/** A scenario of one turn (the caller hangs up), for the default agent. */
function hangsUp() {
  const parsed = parseScenario(
    JSON.stringify({
      caller: { turns: [{ hangUp: true }] },
      checks: [{ type: "ended", outcome: "caller-hangup" }],
    }),
    { file: "default/scenarios/hangs_up.json", agent: "default", tools: [] },
  );
  assert.ok(parsed.ok);
  return parsed.scenario;
}

/** `run`, or a rejection when it is still going 10 s on (far past every limit the tests set). */
async function notStuck<T>(run: Promise<T>): Promise<T> {
  let deadline: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<never>((_, reject) => {
    deadline = setTimeout(() => reject(new Error("the run is still waiting")), 10_000);
  });
  try {
    return await Promise.race([run, stuck]);
  } finally {
    clearTimeout(deadline);
  }
}

Deno.test("a deployment that never answers: each scenario is an error in time", async () => {
  const server = silentServer();
  const scenario = hangsUp();
  try {
    const results = await notStuck(runScenarios([scenario, { ...scenario, name: "again" }], {
      target: remoteTarget(server.url, null, { timeoutMs: 300 }),
      models: null,
      timeoutMs: 300,
    }));
    assert.deepEqual(results.map((r) => [r.scenario, r.status]), [
      ["hangs_up", "error"],
      ["again", "error"],
    ]);
    assert.match(results[0].error!, /\/simulator\/token did not answer within 300 ms/);
    assert.equal(server.connections, 2, "each scenario asked the deployment once");
  } finally {
    await server.close();
  }
});

Deno.test("a deployment that starts the call and never answers its events: an error in time", async () => {
  const server = hungEventsServer();
  try {
    const results = await notStuck(runScenarios([hangsUp()], {
      target: remoteTarget(server.url, null, { timeoutMs: 300 }),
      models: null,
      timeoutMs: 300,
    }));
    assert.equal(server.calls.length, 1, "the call was not started");
    const { callSid } = server.calls[0];
    assert.deepEqual(server.eventsAsked, [`/simulator/events/${callSid}`]);
    assert.deepEqual(results.map((r) => [r.scenario, r.status, r.error]), [
      [
        "hangs_up",
        "error",
        `${server.url}/simulator/events/${callSid} did not answer within 300 ms`,
      ],
    ]);
  } finally {
    await server.close();
  }
});
