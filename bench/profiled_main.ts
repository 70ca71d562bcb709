/**
 * `main.ts` with a heap snapshot on demand, for the profiling benchmarks: on SIGUSR2 it writes
 * `heap-<n>.heapsnapshot` into `HEAP_SNAPSHOT_DIR` (a folder the process may write to), and on
 * SIGWINCH `memory-<n>.json`, its `Deno.memoryUsage()` (RSS, V8 heap committed and used, external).
 *
 * @module
 */

import v8 from "node:v8";
import { main } from "../main.ts";

/** Writes a numbered heap snapshot into `dir` on each SIGUSR2. */
function snapshotOnSignal(dir: string): void {
  let taken = 0;
  Deno.addSignalListener("SIGUSR2", () => {
    v8.writeHeapSnapshot(`${dir}/heap-${taken++}.heapsnapshot`);
  });
}

/** Writes a numbered `Deno.memoryUsage()` into `dir` on each SIGWINCH (no GC: as it is). */
function memoryOnSignal(dir: string): void {
  let taken = 0;
  Deno.addSignalListener("SIGWINCH", () => {
    const path = `${dir}/memory-${taken++}.json`;
    Deno.writeTextFileSync(`${path}.part`, JSON.stringify(Deno.memoryUsage()));
    Deno.renameSync(`${path}.part`, path);
  });
}

const dir = Deno.env.get("HEAP_SNAPSHOT_DIR");
if (dir) {
  snapshotOnSignal(dir);
  memoryOnSignal(dir);
}
await main();
