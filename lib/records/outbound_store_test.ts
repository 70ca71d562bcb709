/**
 * The outbound store: a call's params are found under its reference until OUTBOUND_TTL_MS have
 * passed since they were stored, whether or not KV has purged them yet (expireIn is best
 * effort), and an unknown reference finds nothing.
 */

import assert from "node:assert/strict";
import {
  loadOutbound,
  OUTBOUND_TTL_MS,
  type OutboundCall,
  saveOutbound,
} from "./outbound_store.ts";

function outbound(createdAt: number): OutboundCall {
  return {
    reference: crypto.randomUUID(),
    agent: "appointments",
    to: "+15550100444",
    params: { customerName: "Ada Lovelace" },
    createdAt,
  };
}

Deno.test("outbound params are found by their reference while they are fresh", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const call = outbound(Date.now());
    await saveOutbound(kv, call);
    assert.deepEqual(await loadOutbound(kv, call.reference), call);
    // Still there shortly before they expire.
    const older = outbound(Date.now() - OUTBOUND_TTL_MS + 60_000);
    await saveOutbound(kv, older);
    assert.deepEqual(await loadOutbound(kv, older.reference), older);
  } finally {
    kv.close();
  }
});

Deno.test("params past OUTBOUND_TTL_MS expire on read, even if KV still has them", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    // Stored without expireIn: the entry stays, as one KV has not purged yet would.
    const stale = outbound(Date.now() - OUTBOUND_TTL_MS - 1000);
    await kv.set(["outbound", stale.reference], stale);
    assert.ok((await kv.get(["outbound", stale.reference])).value, "the entry is still in KV");
    assert.equal(await loadOutbound(kv, stale.reference), null);
  } finally {
    kv.close();
  }
});

Deno.test("an unknown outbound reference finds nothing", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await saveOutbound(kv, outbound(Date.now()));
    assert.equal(await loadOutbound(kv, crypto.randomUUID()), null);
    assert.equal(await loadOutbound(kv, ""), null);
  } finally {
    kv.close();
  }
});
