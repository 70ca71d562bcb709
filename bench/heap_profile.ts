/**
 * Reading V8 profiles of the service for the profiling benchmarks: a heap snapshot taken on
 * demand (SIGUSR2 to `bench/profiled_main.ts`), its self size by constructor, and CPU self time
 * by function from a `--cpu-prof` file.
 *
 * @module
 */

/** Self size (bytes) and count of a heap snapshot's nodes, by type and constructor name. */
export async function heapByConstructor(path: string): Promise<Map<string, [number, number]>> {
  const snapshot = JSON.parse(await Deno.readTextFile(path));
  const fields: string[] = snapshot.snapshot.meta.node_fields;
  const types: string[] = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const nodes: number[] = snapshot.nodes;
  const strings: string[] = snapshot.strings;
  const totals = new Map<string, [number, number]>();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const name = type === "object" || type === "closure" ? strings[nodes[i + nameAt]] : "";
    const key = `${type}${name ? ` ${name.slice(0, 60)}` : ""}`;
    const total = totals.get(key) ?? [0, 0];
    total[0] += nodes[i + sizeAt];
    total[1]++;
    totals.set(key, total);
  }
  return totals;
}

/** Self time (ms) by function of a `.cpuprofile`, largest first. */
export async function cpuSelfTime(path: string): Promise<[string, number][]> {
  const profile = JSON.parse(await Deno.readTextFile(path));
  const interval = (profile.endTime - profile.startTime) / 1000 / profile.samples.length;
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url
      ? `${url.replace(/^.*\/(wt-[^/]+|registry\.npmjs\.org)\//, "")}:${lineNumber + 1}`
      : "";
    const key = `${functionName || "(anonymous)"} ${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + node.hitCount * interval);
  }
  return [...byFunction].sort((a, b) => b[1] - a[1]);
}

/**
 * Has `bench/profiled_main.ts` (process `pid`) write heap snapshot `n` into `dir`; resolves with
 * its path once written. Writing one runs a full GC first.
 */
export async function heapSnapshot(pid: number, dir: string, n: number): Promise<string> {
  const path = `${dir}/heap-${n}.heapsnapshot`;
  Deno.kill(pid, "SIGUSR2");
  // The snapshot is complete once its size stops changing (it is written in one go).
  let last = -1;
  while (true) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const size = await Deno.stat(path).then((s) => s.size, () => -1);
    if (size > 0 && size === last) return path;
    last = size;
  }
}

/** `Deno.memoryUsage()` of `bench/profiled_main.ts` (process `pid`), as file `n` in `dir`. */
export async function memoryUsage(
  pid: number,
  dir: string,
  n: number,
): Promise<Deno.MemoryUsage> {
  const path = `${dir}/memory-${n}.json`;
  Deno.kill(pid, "SIGWINCH");
  while (true) {
    const text = await Deno.readTextFile(path).catch(() => null);
    if (text) return JSON.parse(text);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
