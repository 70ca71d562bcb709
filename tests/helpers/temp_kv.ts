/**
 * A real Deno KV in a temporary file for one test, closed and removed after it (whatever the
 * test does): the SQLite store production runs on, not `:memory:`.
 *
 * @module
 */

/** Runs `test` with a KV in a fresh temporary file; closes and deletes it afterwards. */
export async function withTempKv<T>(test: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "callbridge_kv_" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    return await test(kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}
