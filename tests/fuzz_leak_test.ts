/**
 * Both WebSocket endpoints under abuse and under repetition: malformed JSON, binary frames,
 * oversized frames, wrong types, unknown events and a flood of 10,000 messages while another call
 * runs (the process stays up, the other call is unaffected, memory returns to its baseline); and
 * 1,000 calls in sequence per path leave no socket, timer or memory behind (Deno's test
 * sanitizers check sockets and timers; the heap is compared after garbage collection).
 */

import assert from "node:assert/strict";
import { newCallSid, RelayClient } from "./fakes/relay_client.ts";
import { MediaStreamsClient } from "./fakes/media_streams_client.ts";
import { relayHarness, until } from "./helpers/relay_harness.ts";
import { callerFrame, startRealtime } from "./helpers/realtime_harness.ts";
import { TEST_AUTH_TOKEN, twilioParameters } from "./helpers/service.ts";
import { waitUntil } from "./fakes/event_log.ts";

const FLOOD = 10_000;
/** Heap growth tolerated after the flood or the 1,000 calls, once garbage is collected. */
const HEAP_SLACK_BYTES = 8 * 1024 * 1024;

/** Heap in use after a full garbage collection (tests run with --v8-flags=--expose-gc). */
async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, "run with --v8-flags=--expose-gc (deno task test does)");
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return Deno.memoryUsage().heapUsed;
}

/** 10,000 bad or pointless relay messages, cycling through every kind. */
function relayJunk(i: number): string | Uint8Array<ArrayBuffer> {
  switch (i % 8) {
    case 0:
      return "{not json";
    case 1:
      return new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
    case 2:
      return JSON.stringify({ type: "prompt", voicePrompt: 42, last: "yes" });
    case 3:
      return JSON.stringify({ type: "nonsense", payload: "x".repeat(100) });
    case 4:
      return "x".repeat(70_000); // over MAX_WS_MESSAGE_BYTES
    case 5:
      return JSON.stringify({ type: "info", name: "tokensPlayed", value: i });
    case 6:
      return JSON.stringify([1, 2, 3]);
    default:
      return JSON.stringify({ type: "dtmf", digit: "🙂" });
  }
}

Deno.test("relay: a flood of junk on one call leaves the process, other calls and memory intact", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "" });
  try {
    const good = await h.call();
    good.prompt("warm up");
    await good.turn();
    const baseline = await settledHeap();
    const bad = await h.call();
    for (let i = 0; i < FLOOD; i++) {
      bad.sendRaw(relayJunk(i));
      if (i % 2000 === 0) {
        // The other call keeps being answered while the flood goes on.
        good.prompt(`still fine ${i}`);
        assert.equal((await good.turn()).text, `You said: still fine ${i}`);
      }
    }
    bad.prompt("after the flood");
    assert.equal((await bad.turn(10_000)).text, "You said: after the flood");
    const dropped = h.svc.logs.filter((l) => l.event === "relay.frame_dropped").length;
    assert.ok(dropped <= 20, `malformed frames are not logged one by one (${dropped} lines)`);
    assert.ok(h.svc.logs.every((l) => !("stack" in l)));
    await bad.hangUp();
    await until(() => h.svc.services.registry.size === 1, "flooded call gone");
    const after = await settledHeap();
    assert.ok(after - baseline < HEAP_SLACK_BYTES, `heap grew by ${after - baseline} bytes`);
  } finally {
    await h.close();
  }
});

/** 10,000 bad or pointless Media Streams messages. */
function streamJunk(i: number, streamSid: string): string | Uint8Array<ArrayBuffer> {
  switch (i % 8) {
    case 0:
      return "{not json";
    case 1:
      return new Uint8Array([1, 2, 3]);
    case 2:
      return JSON.stringify({ event: "media", streamSid, media: { payload: 42 } });
    case 3:
      return JSON.stringify({ event: "media", streamSid, media: { payload: "not base64!!" } });
    case 4:
      return JSON.stringify({ event: "nonsense", streamSid });
    case 5:
      return JSON.stringify({ event: "mark", streamSid, mark: { name: `stale-${i}` } });
    case 6:
      return JSON.stringify({ event: "start", streamSid }); // a duplicate start
    default:
      return "y".repeat(70_000);
  }
}

Deno.test("media streams: a flood of junk leaves the process, other calls and memory intact", async () => {
  const h = await startRealtime({ env: { REALTIME_GREETING: "" }, fake: { mode: "echo" } });
  try {
    const good = await h.call();
    const echo = async (n: number) => {
      const before = good.receivedBytes;
      good.media(callerFrame(n));
      await waitUntil(() => good.receivedBytes >= before + 160, { what: `echo of frame ${n}` });
    };
    await echo(0);
    const baseline = await settledHeap();
    const bad = await h.call();
    // Media before start is dropped too.
    const early = await h.call({ start: false });
    early.media(callerFrame(1));
    for (let i = 0; i < FLOOD; i++) {
      bad.sendRaw(streamJunk(i, bad.streamSid));
      if (i % 2000 === 0) await echo(i + 1);
    }
    await echo(99_999);
    const dropped = h.logs("realtime.frame_dropped").length;
    assert.ok(dropped <= 40, `malformed frames are not logged one by one (${dropped} lines)`);
    await bad.close();
    await early.close();
    await waitUntil(() => h.service.services.registry.size === 1, { what: "flooded calls gone" });
    const after = await settledHeap();
    assert.ok(after - baseline < HEAP_SLACK_BYTES, `heap grew by ${after - baseline} bytes`);
  } finally {
    await h.close();
  }
});

Deno.test("1,000 relay calls in sequence leave nothing behind", async () => {
  const h = await relayHarness({ WELCOME_GREETING: "", LOG_LEVEL: "warn" });
  try {
    let baseline = 0;
    for (let i = 0; i < 1000; i++) {
      const call = await RelayClient.connect(h.svc.url, { authToken: TEST_AUTH_TOKEN });
      call.setup(
        await twilioParameters(h.svc.url, {
          callSid: call.callSid,
          from: call.from,
          to: call.to,
          path: "/twilio/voice/relay",
        }),
      );
      call.prompt(`call ${i}`);
      await call.turn();
      await call.hangUp();
      // What the test fakes keep of each call is not the service's memory.
      h.fake.requests.length = 0;
      if (i === 99) {
        await until(() => h.svc.services.registry.size === 0, "calls closed");
        baseline = await settledHeap();
      }
    }
    await until(() => h.svc.services.registry.size === 0, "every call closed");
    await until(() => h.svc.services.records.openCount === 0, "every record written");
    h.svc.logs.length = 0;
    const after = await settledHeap();
    assert.ok(after - baseline < HEAP_SLACK_BYTES, `heap grew by ${after - baseline} bytes`);
  } finally {
    await h.close();
  }
});

Deno.test("1,000 media-stream calls in sequence leave nothing behind", async () => {
  const h = await startRealtime({
    env: { REALTIME_GREETING: "", LOG_LEVEL: "warn" },
    fake: { mode: "echo" },
  });
  try {
    let baseline = 0;
    let upstreamClosed = 0;
    for (let i = 0; i < 1000; i++) {
      const callSid = newCallSid();
      const parameters = await twilioParameters(h.service.url, {
        callSid,
        path: "/twilio/voice/realtime",
      });
      const call = await MediaStreamsClient.connect(h.service.url, {
        authToken: TEST_AUTH_TOKEN,
        callSid,
      });
      call.start(parameters);
      call.media(callerFrame(i));
      await waitUntil(() => call.receivedBytes >= 160, { what: `echo on call ${i}` });
      call.stop();
      await call.close();
      // What the test fakes keep of each call is not the service's memory.
      for (const session of h.fake.sessions.items.splice(0)) {
        await session.closed;
        upstreamClosed++;
      }
      if (i === 99) {
        await waitUntil(() => h.service.services.registry.size === 0, { what: "calls closed" });
        baseline = await settledHeap();
      }
    }
    await waitUntil(() => h.service.services.registry.size === 0, { what: "every call closed" });
    await waitUntil(() => h.service.services.records.openCount === 0, { what: "records written" });
    assert.equal(upstreamClosed, 1000, "one upstream socket per call, each closed");
    h.service.logs.length = 0;
    const after = await settledHeap();
    assert.ok(after - baseline < HEAP_SLACK_BYTES, `heap grew by ${after - baseline} bytes`);
  } finally {
    await h.close();
  }
});
