/**
 * Two service processes on one KV file, as replicas behind a load balancer: `main.ts` twice, each
 * with the `start` task's permissions and its own id, sharing the fake OpenAI and the fake Twilio
 * REST API (which counts the calls placed). A call live on B shows on A's dashboard feed within
 * 3 s and leaves it when it ends; an agent created on A answers B's next call; an outbound call
 * placed through A whose socket lands on B runs with its params; the same `Idempotency-Key` sent
 * to A and to B places one call; a scenario run on A's page whose call's socket lands on B is read
 * from the call's record and passes, and so do the simulator's events on A of a call on B; killing B (SIGKILL) drops its live call from A's list within
 * the presence expiry.
 */

import assert from "node:assert/strict";
import http from "node:http";
import { FakeOpenAI } from "./fakes/fake_openai.ts";
import { FakeTwilioApi } from "./fakes/fake_twilio_api.ts";
import { RelayClient } from "./fakes/relay_client.ts";
import { type MainProcess, startMain } from "./helpers/main_process.ts";
import { within } from "./helpers/relay_harness.ts";
import {
  parametersOf,
  TEST_ACCOUNT_SID,
  TEST_AUTH_TOKEN,
  twilioParameters,
} from "./helpers/service.ts";
import type { LiveCallView } from "../lib/records/presence.ts";
import { toWebSocketUrl } from "../lib/platform/public_url.ts";
import { RelayLine } from "../lib/scenarios/relay_line.ts";
import { remoteTarget } from "../lib/scenarios/scenario_target.ts";

const API_TOKEN = "api-token-multi-instance";
const TTL_MS = 1500;

/** A dashboard's `/live/events` stream: every list it was sent, waited on by predicate. */
class LiveEvents {
  readonly lists: LiveCallView[][] = [];
  readonly #abort = new AbortController();
  #wake: (() => void) | null = null;
  #done: Promise<void>;

  constructor(url: string) {
    this.#done = this.#read(url).catch(() => {});
  }

  async #read(url: string): Promise<void> {
    const res = await fetch(`${url}/live/events`, { signal: this.#abort.signal });
    let buffer = "";
    for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n").find((l) => l.startsWith("data:"));
        if (block.includes("event: calls") && data) {
          this.lists.push(JSON.parse(data.slice(5)));
          this.#wake?.();
        }
      }
    }
  }

  /** The first list (from now on, or the latest) for which `check` holds. */
  async until(
    check: (calls: LiveCallView[]) => boolean,
    what: string,
    ms = 5000,
  ): Promise<LiveCallView[]> {
    const wait = (async () => {
      for (;;) {
        const latest = this.lists.at(-1);
        if (latest && check(latest)) return latest;
        await new Promise<void>((resolve) => this.#wake = resolve);
      }
    })();
    return await within(wait, ms, what);
  }

  async close(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.#done;
  }
}

function newCallSid(): string {
  return `CA${crypto.randomUUID().replaceAll("-", "")}`;
}

/** An inbound relay call on `main` (its webhook, then its socket), set up. */
async function inboundCall(main: MainProcess, agent?: string): Promise<RelayClient> {
  const callSid = newCallSid();
  const parameters = await twilioParameters(main.url, {
    callSid,
    from: "+15550100123",
    to: "+15550100999",
    agent,
    path: "/twilio/voice/relay",
  });
  const call = await RelayClient.connect(main.url, { authToken: TEST_AUTH_TOKEN, callSid });
  call.setup(parameters, { from: "+15550100123", to: "+15550100999" });
  return call;
}

function placeCall(main: MainProcess, body: unknown, key: string): Promise<Response> {
  return fetch(`${main.url}/api/calls`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${API_TOKEN}`,
      "content-type": "application/json",
      "idempotency-key": key,
    },
    body: JSON.stringify(body),
  });
}

function postForm(main: MainProcess, path: string, fields: Record<string, string>) {
  return fetch(`${main.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: main.url },
    body: new URLSearchParams(fields),
    redirect: "manual",
  });
}

/**
 * A form posted to `to` as a load balancer forwards it: the browser asked at `publicly`'s address
 * (its Host and Origin). Through node:http, as `fetch` does not send the Host it is given.
 */
function postBehindBalancer(
  to: MainProcess,
  publicly: MainProcess,
  path: string,
  fields: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(to.url);
  return new Promise((resolve, reject) => {
    const req = http.request({
      hostname,
      port,
      path,
      method: "POST",
      headers: {
        host: new URL(publicly.url).host,
        origin: publicly.url,
        "content-type": "application/x-www-form-urlencoded",
      },
    }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => body += chunk);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(new URLSearchParams(fields).toString());
  });
}

/** The system message of the newest chat request the fake OpenAI got. */
function lastSystemMessage(openai: FakeOpenAI): string {
  const messages = openai.requests.at(-1)?.body.messages as { role: string; content: string }[];
  return messages[0].content;
}

Deno.test("two processes on one KV file behave as one service", async (t) => {
  const openai = new FakeOpenAI();
  const twilioApi = new FakeTwilioApi();
  const env = {
    OPENAI_API_KEY: openai.apiKey,
    OPENAI_BASE_URL: openai.start(),
    OPENAI_MODEL: "gpt-test",
    TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
    TWILIO_ACCOUNT_SID: TEST_ACCOUNT_SID,
    TWILIO_API_BASE_URL: twilioApi.start(),
    TWILIO_PHONE_NUMBER: "+15550100000",
    API_TOKEN,
    WELCOME_GREETING: "",
    HANDOFF_NUMBER: "+15550100777",
    PRESENCE_TTL_MS: String(TTL_MS),
  };
  let a: MainProcess | null = null;
  let b: MainProcess | null = null;
  let feed: LiveEvents | null = null;
  const calls: RelayClient[] = [];
  try {
    a = await startMain({ ...env, INSTANCE_ID: "inst-a" });
    b = await startMain({ ...env, INSTANCE_ID: "inst-b", KV_PATH: a.kvPath });
    const [A, B] = [a, b];
    feed = new LiveEvents(A.url);
    const dashboard = feed;
    await dashboard.until((list) => list.length === 0, "the dashboard's first list");

    await t.step("a call live on B shows on A's dashboard within 3 s, and leaves it", async () => {
      const started = performance.now();
      const call = await inboundCall(B);
      calls.push(call);
      const list = await dashboard.until(
        (l) => l.some((c) => c.callSid === call.callSid),
        "B's call on A's dashboard",
        3000,
      );
      assert.ok(performance.now() - started < 3000);
      const shown = list.find((c) => c.callSid === call.callSid)!;
      assert.deepEqual(
        [shown.instance, shown.agent, shown.mode, shown.from],
        ["inst-b", "default", "relay", "+*******0123"],
      );
      call.prompt("Hello from B");
      assert.equal((await call.turn()).text, "You said: Hello from B");
      const ended = performance.now();
      await call.hangUp();
      await dashboard.until((l) => l.length === 0, "the ended call gone from A's dashboard", 3000);
      assert.ok(performance.now() - ended < 3000);
      const ready = await (await fetch(`${B.url}/health/ready`)).json();
      assert.equal(ready.instance, "inst-b");
      const config = await (await fetch(`${A.url}/config`)).text();
      assert.match(config, /data-instance="inst-a"/);
      assert.match(config, /data-instance="inst-b"/);
    });

    await t.step("an agent created on A answers B's next call", async () => {
      const created = await postForm(A, "/agents", { name: "concierge", start: "template:relay" });
      assert.equal(created.status, 303);
      await created.body?.cancel();
      const edited = await postForm(A, "/agents/concierge", {
        instructions: "You are Cora, the concierge.",
      });
      assert.equal(edited.status, 303);
      await edited.body?.cancel();
      const call = await inboundCall(B, "concierge");
      calls.push(call);
      call.prompt("Who are you?");
      await call.turn();
      assert.equal(lastSystemMessage(openai), "You are Cora, the concierge.");
      await call.hangUp();
    });

    await t.step(
      "an outbound call placed through A, its socket on B, runs with its params; one key, one call",
      async () => {
        const body = {
          to: "+15550100444",
          agent: "appointments",
          params: { customerName: "Grace Hopper" },
        };
        const first = await placeCall(A, body, "order-42");
        assert.equal(first.status, 201);
        const { callSid } = await first.json();
        assert.equal(twilioApi.calls.items.length, 1);
        const retried = await placeCall(B, body, "order-42");
        assert.equal(retried.status, 201);
        assert.equal(retried.headers.get("idempotent-replayed"), "true");
        assert.equal((await retried.json()).callSid, callSid);
        // Sent to both at once with a new key: still one call.
        const racing = await Promise.all([
          placeCall(A, body, "order-43"),
          placeCall(B, body, "order-43"),
        ]);
        const sids = await Promise.all(racing.map(async (r) => (await r.json()).callSid));
        assert.deepEqual(racing.map((r) => r.status), [201, 201]);
        assert.equal(sids[0], sids[1]);
        assert.equal(twilioApi.calls.items.length, 2, "two keys, two calls");

        const created = twilioApi.calls.items.find((c) => c.sid === callSid)!;
        const call = await RelayClient.connect(B.url, { authToken: TEST_AUTH_TOKEN });
        calls.push(call);
        call.setup(parametersOf(created.twiml), {
          direction: "outbound-api",
          from: "+15550100000",
          to: "+15550100444",
        });
        call.prompt("Hello?");
        await call.turn();
        assert.match(lastSystemMessage(openai), /The caller is probably\s+Grace Hopper\./);
        await call.hangUp();
      },
    );

    await t.step(
      "a scenario run on A's page, its call's socket on B, reads the call from KV",
      async () => {
        openai.script(
          {
            tokens: ["Connecting you."],
            toolCalls: [{ name: "transfer_to_human", arguments: '{"summary":"wants a person"}' }],
          },
          { tokens: [] },
        );
        const count = (m: MainProcess) => m.lines.filter((l) => l.event === "call.start").length;
        const [startedOnA, startedOnB] = [count(A), count(B)];
        // The load balancer's public address is B's: the page's calls are dialled there.
        const res = await postBehindBalancer(A, B, "/agents/default/scenarios/run", {
          scenario: "hands_off",
        });
        assert.equal(res.status, 200, res.body);
        assert.match(res.body, /<p id="run-done" data-passed="1" data-failed="0">/, res.body);
        // Streamed into the page's list, and the page closed after.
        assert.match(res.body, /<ol class="scenario-progress"><li data-started="hands_off">/);
        assert.match(res.body, /<\/ol><div class="scenario-totals"><p id="run-done"[^]*<\/html>$/);
        assert.equal(count(A), startedOnA, "no call ran on A");
        assert.equal(count(B), startedOnB + 1, "the scenario's call ran on B");
      },
    );

    await t.step("the simulator's events on A follow a call whose socket is on B", async () => {
      const target = remoteTarget(A.url, null);
      const call = await target.start({ agent: "default", from: "+15550100123", params: {} });
      const watch = await target.watch(call.callSid);
      const line = await RelayLine.open(`${toWebSocketUrl(B.url)}/twilio/relay`, call, {
        agent: "default",
        timeoutMs: 5000,
      });
      line.say("Hello from the simulator");
      assert.equal((await line.nextTurn(5000)).text, "You said: Hello from the simulator");
      line.hangUp();
      const seen = await watch.ended(5000);
      watch.close();
      assert.equal(seen.outcome, "caller-hangup");
      assert.deepEqual(seen.transcript, [
        { role: "caller", text: "Hello from the simulator" },
        { role: "agent", text: "You said: Hello from the simulator" },
      ]);
      assert.equal(seen.latencies.length, 1);
    });

    await t.step(
      "B killed with SIGKILL: its live call leaves A's list within the expiry",
      async () => {
        const call = await inboundCall(B);
        calls.push(call);
        await dashboard.until((l) => l.some((c) => c.callSid === call.callSid), "B's call", 3000);
        B.child.kill("SIGKILL");
        assert.equal((await B.exited).signal, "SIGKILL");
        const killed = performance.now();
        await dashboard.until(
          (l) => l.length === 0,
          "B's call expired from A's list",
          TTL_MS + 2000,
        );
        assert.ok(performance.now() - killed <= TTL_MS + 2000);
      },
    );
  } finally {
    await feed?.close();
    for (const call of calls) await call.disconnect().catch(() => {});
    await b?.close();
    await a?.close();
    await openai.close();
    await twilioApi.close();
  }
});
