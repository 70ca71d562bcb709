import assert from "node:assert/strict";
import { isBusyError, retryWhenBusy, whileBusy } from "./kv_busy.ts";

Deno.test("whileBusy: a busy error is retried until it passes; any other is thrown at once", async () => {
  let calls = 0;
  const value = await whileBusy(() => {
    calls++;
    if (calls < 3) return Promise.reject(new TypeError("database is locked"));
    return Promise.resolve("written");
  });
  assert.deepEqual([value, calls], ["written", 3]);

  calls = 0;
  await assert.rejects(
    whileBusy(() => {
      calls++;
      return Promise.reject(new TypeError("Value too large"));
    }),
    /Value too large/,
  );
  assert.equal(calls, 1, "not retried");

  calls = 0;
  await assert.rejects(
    whileBusy(() => {
      calls++;
      return Promise.reject(new Error("database is locked"));
    }),
    /database is locked/,
  );
  assert.equal(calls, 8, "given up after 8 attempts");
  assert.equal(isBusyError(new Error("SqliteFailure(... DatabaseBusy ...)")), true);
  assert.equal(isBusyError(new Error("database table is locked")), true);
  assert.equal(isBusyError(new Error("NotFound")), false);
});

Deno.test("retryWhenBusy: the handle still reads, writes and commits atomically with its checks", async () => {
  const kv = retryWhenBusy(await Deno.openKv(":memory:"));
  try {
    await kv.set(["a"], 1);
    const entry = await kv.get<number>(["a"]);
    assert.equal(entry.value, 1);
    const won = await kv.atomic().check(entry).set(["a"], 2).commit();
    assert.equal(won.ok, true);
    const lost = await kv.atomic().check(entry).set(["a"], 3).commit();
    assert.equal(lost.ok, false, "a failed check is an answer, not retried into a write");
    assert.deepEqual((await kv.getMany<[number]>([["a"]])).map((e) => e.value), [2]);
    await kv.delete(["a"]);
    assert.equal((await kv.get(["a"])).value, null);
  } finally {
    kv.close();
  }
});
