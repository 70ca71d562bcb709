/**
 * claimIdempotencyKey and its slot, on an in-memory KV: a completed key replays its answer, and
 * refuses another body; a released key can be claimed again; a claim left pending past its time
 * is taken over, and the placer it was taken from can neither overwrite nor release the new
 * claim.
 */

import assert from "node:assert/strict";
import { claimIdempotencyKey, PENDING_MS } from "./idempotency.ts";

async function withKv(fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(kv);
  } finally {
    kv.close();
  }
}

function claimedSlot(claim: Awaited<ReturnType<typeof claimIdempotencyKey>>) {
  assert.equal(claim.kind, "claimed");
  return claim.kind === "claimed" ? claim.slot : null!;
}

Deno.test("idempotency: a completed key replays its answer, and refuses another body", async () => {
  await withKv(async (kv) => {
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

Deno.test("idempotency: a released key is claimed again; a pending one is busy", async () => {
  await withKv(async (kv) => {
    const first = claimedSlot(await claimIdempotencyKey(kv, "k", "b"));
    assert.deepEqual(await claimIdempotencyKey(kv, "k", "b", { waitMs: 0 }), { kind: "busy" });
    await first.release();
    const again = claimedSlot(await claimIdempotencyKey(kv, "k", "b"));
    assert.equal(await again.complete(201, { ok: 1 }), true);
  });
});

Deno.test("idempotency: a claim taken over after its time cannot be undone by its first placer", async () => {
  await withKv(async (kv) => {
    let now = 1_000_000;
    const clock = { now: () => now, waitMs: 0 };
    const dead = claimedSlot(await claimIdempotencyKey(kv, "k", "b", clock));
    now += PENDING_MS; // exactly the limit: still the first placer's
    assert.deepEqual(await claimIdempotencyKey(kv, "k", "b", clock), { kind: "busy" });
    now += 1;
    const taker = claimedSlot(await claimIdempotencyKey(kv, "k", "b", clock));
    // The first placer wakes up: its failure must not free the key, nor its answer replace...
    await dead.release();
    assert.deepEqual(await claimIdempotencyKey(kv, "k", "b", clock), { kind: "busy" });
    assert.equal(await dead.complete(201, { callSid: "CA-dead" }), false);
    // ...the new claim's, which stands.
    assert.equal(await taker.complete(201, { callSid: "CA-taker" }), true);
    assert.deepEqual(await claimIdempotencyKey(kv, "k", "b", clock), {
      kind: "replay",
      status: 201,
      body: { callSid: "CA-taker" },
    });
  });
});
