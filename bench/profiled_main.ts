/**
 * `main.ts` with a heap snapshot on demand, for bench/realtime_profile.ts: on SIGUSR2 it writes
 * `heap-<n>.heapsnapshot` into `HEAP_SNAPSHOT_DIR` (a folder the process may write to).
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

const dir = Deno.env.get("HEAP_SNAPSHOT_DIR");
if (dir) snapshotOnSignal(dir);
await main();
