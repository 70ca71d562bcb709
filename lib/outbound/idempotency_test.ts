/**
 * claimIdempotencyKey and its slot, on an in-memory KV: the keys accepted; the KV entry other
 * instances read; a completed key replays its answer for exactly 24 hours, and refuses another
 * body; a released key can be claimed again; a retry waits for a pending first request's answer,
 * looking every 100 ms, for 10 s unless told otherwise; of two instances racing for a key only
 * one wins; a claim left pending past 60 s is taken over, and the placer it was taken from can
 * neither overwrite nor release the new claim.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { waitUntil } from "../../tests/fakes/event_log.ts";
import { FakeClock } from "../../tests/helpers/fake_clock.ts";
import { type Claim, claimIdempotencyKey, validIdempotencyKey } from "./idempotency.ts";
import { withTempKv } from "../../tests/helpers/temp_kv.ts";

/** The limits as documented (written out: the module's constants are what is tested). */
const DAY_MS = 86_400_000;
const PENDING_MS = 60_000;

function claimedSlot(claim: Claim) {
  assert.equal(claim.kind, "claimed");
  return claim.kind === "claimed" ? claim.slot : null!;
}

/** A claim in progress, and whether it has answered yet. */
function inProgress(claim: Promise<Claim>) {
  const state = { settled: false, claim };
  claim.then(() => (state.settled = true), () => (state.settled = true));
  return state;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

Deno.test("validIdempotencyKey: 1 to 255 visible ASCII characters", () => {
  for (const key of ["a", "!", "~", "order-1", "x".repeat(255), "9f1c:2030-03-05/+1555"]) {
    assert.equal(validIdempotencyKey(key), true, JSON.stringify(key));
  }
  for (const key of ["", "x".repeat(256), "has space", "tab\t", "\x7f", "é", "line\n"]) {
    assert.equal(validIdempotencyKey(key), false, JSON.stringify(key));
  }
});

Deno.test("idempotency: a claim is kept under its key's SHA-256, for every instance", async () => {
  await withTempKv(async (kv) => {
    const clock = new FakeClock();
    claimedSlot(await claimIdempotencyKey(kv, "order-1", '{"to":"+1555"}', { clock }));
    const entry = await kv.get(["idempotency", "api_calls", sha256("order-1")]);
    assert.deepEqual(entry.value, {
      state: "pending",
      request: sha256('{"to":"+1555"}'),
      at: clock.now(),
    });
  });
});

Deno.test("idempotency: a completed key replays its answer, and refuses another body", async () => {
  await withTempKv(async (kv) => {
    const slot = claimedSlot(await claimIdempotencyKey(kv, "order-1", '{"to":"+1555"}'));
    assert.equal(await slot.complete(201, { callSid: "CA1" }), true);
    assert.deepEqual(await claimIdempotencyKey(kv, "order-1", '{"to":"+1555"}'), {
      kind: "replay",
      status: 201,
      body: { callSid: "CA1" },
    });
    assert.deepEqual(await claimIdempotencyKey(kv, "order-1", '{"to":"+1666"}'), {
      kind: "mismatch",
    });
  });
});

Deno.test("idempotency: an answer is replayed for 24 hours, and no longer", async () => {
  await withTempKv(async (kv) => {
    const clock = new FakeClock();
    const slot = claimedSlot(await claimIdempotencyKey(kv, "k", "b", { clock }));
    assert.equal(await slot.complete(201, { callSid: "CA1" }), true);
    const replay = { kind: "replay", status: 201, body: { callSid: "CA1" } };
    clock.tick(PENDING_MS + 1); // past a pending claim's time: an answer is kept longer
    assert.deepEqual(await claimIdempotencyKey(kv, "k", "b", { clock }), replay);
    clock.tick(DAY_MS - PENDING_MS - 1); // exactly 24 h
    assert.deepEqual(await claimIdempotencyKey(kv, "k", "b", { clock }), replay);
    clock.tick(1);
    const again = claimedSlot(await claimIdempotencyKey(kv, "k", "b", { clock }));
    assert.equal(await again.complete(201, { callSid: "CA2" }), true);
    assert.deepEqual(await claimIdempotencyKey(kv, "k", "b", { clock }), {
      kind: "replay",
      status: 201,
      body: { callSid: "CA2" },
    });
  });
});

Deno.test("idempotency: a released key is claimed again; a pending one is busy", async () => {
  await withTempKv(async (kv) => {
    const first = claimedSlot(await claimIdempotencyKey(kv, "k", "b"));
    assert.deepEqual(await claimIdempotencyKey(kv, "k", "b", { waitMs: 0 }), { kind: "busy" });
    await first.release();
    const again = claimedSlot(await claimIdempotencyKey(kv, "k", "b"));
    assert.equal(await again.complete(201, { ok: 1 }), true);
  });
});

Deno.test("idempotency: a retry waits for the first answer, looking every 100 ms", async () => {
  await withTempKv(async (kv) => {
    const clock = new FakeClock();
    const first = claimedSlot(await claimIdempotencyKey(kv, "k", "b", { clock }));
    const retry = inProgress(claimIdempotencyKey(kv, "k", "b", { clock }));
    await waitUntil(() => clock.scheduledFor(100) === 1, { what: "the retry to wait" });
    clock.tick(99);
    assert.equal(clock.scheduledFor(100), 1, "not looked again before 100 ms");
    assert.equal(await first.complete(201, { callSid: "CA1" }), true);
    clock.tick(1);
    await waitUntil(() => retry.settled, { what: "the retry's answer" });
    assert.deepEqual(await retry.claim, { kind: "replay", status: 201, body: { callSid: "CA1" } });
  });
});

Deno.test("idempotency: a retry waits 10 s for a pending first request, then is busy", async () => {
  await withTempKv(async (kv) => {
    const clock = new FakeClock();
    claimedSlot(await claimIdempotencyKey(kv, "k", "b", { clock }));
    const retry = inProgress(claimIdempotencyKey(kv, "k", "b", { clock }));
    await waitUntil(() => clock.scheduledFor(100) === 1, { what: "the retry to wait" });
    clock.tick(9_900);
    // It looked at 9.9 s, and waits on.
    await waitUntil(() => clock.scheduledFor(100) === 1, { what: "the retry to wait on" });
    clock.tick(99);
    assert.equal(retry.settled, false);
    clock.tick(1);
    await waitUntil(() => retry.settled, { what: "the retry's answer at 10 s" });
    assert.deepEqual(await retry.claim, { kind: "busy" });
  });
});

Deno.test("idempotency: of two instances racing for a key, the second to write loses", async () => {
  await withTempKv(async (kv) => {
    const clock = new FakeClock();
    // This instance reads no entry; before its write lands, another claims the key and answers.
    let raced = false;
    const slowKv = new Proxy(kv, {
      get(target, name) {
        if (name === "get") {
          return async (key: Deno.KvKey) => {
            const entry = await target.get(key);
            if (!raced) {
              raced = true;
              const other = claimedSlot(await claimIdempotencyKey(kv, "k", "b", { clock }));
              assert.equal(await other.complete(201, { callSid: "CA-other" }), true);
            }
            return entry;
          };
        }
        const value = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    assert.deepEqual(await claimIdempotencyKey(slowKv, "k", "b", { clock }), {
      kind: "replay",
      status: 201,
      body: { callSid: "CA-other" },
    });
    assert.equal(raced, true);
  });
});

Deno.test("idempotency: a claim taken over after its time cannot be undone by its first placer", async () => {
  await withTempKv(async (kv) => {
    const clock = new FakeClock();
    const options = { clock, waitMs: 0 };
    const dead = claimedSlot(await claimIdempotencyKey(kv, "k", "b", options));
    clock.tick(PENDING_MS); // exactly the limit: still the first placer's
    assert.deepEqual(await claimIdempotencyKey(kv, "k", "b", options), { kind: "busy" });
    clock.tick(1);
    const taker = claimedSlot(await claimIdempotencyKey(kv, "k", "b", options));
    // The first placer wakes up: its failure must not free the key, nor its answer replace...
    await dead.release();
    assert.deepEqual(await claimIdempotencyKey(kv, "k", "b", options), { kind: "busy" });
    assert.equal(await dead.complete(201, { callSid: "CA-dead" }), false);
    // ...the new claim's, which stands.
    assert.equal(await taker.complete(201, { callSid: "CA-taker" }), true);
    assert.deepEqual(await claimIdempotencyKey(kv, "k", "b", options), {
      kind: "replay",
      status: 201,
      body: { callSid: "CA-taker" },
    });
  });
});
