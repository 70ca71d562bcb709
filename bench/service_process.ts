/**
 * Benchmark plumbing: runs `main.ts` as its own process, with the permission flags of
 * `deno task start` (so its CPU and memory can be read from /proc, and it runs as it ships),
 * and summarises samples.
 */

import { isEnvFileFlag, taskFlags } from "../tests/helpers/main_process.ts";

/** A service process under benchmark. */
export interface ServiceProcess {
  url: string;
  pid: number;
  /**
   * Its KV file, in a fresh temporary folder outside the project (the user's own
   * `data/callbridge.kv` is never opened); the process may write there and nowhere else new.
   */
  kvPath: string;
  /** The temporary folder of its KV file (removed with it); the process may write there. */
  dir: string;
  /** Stops the process and removes its KV file (unless `keepKv`: then {@link removeKv} does). */
  stop(options?: { keepKv?: boolean }): Promise<void>;
  removeKv(): Promise<void>;
}

/** Options of {@link startServiceProcess}. */
export interface ServiceProcessOptions {
  /** The program to run instead of `main.ts` (e.g. the floor, `bench/null_bridge.ts`). */
  entry?: string;
  /** More `deno run` flags (e.g. `--cpu-prof`), before the shipped permission flags. */
  flags?: string[];
}

/** Starts `main.ts` on a free loopback port with `env` and a fresh KV; resolves once /health is up. */
export async function startServiceProcess(
  env: Record<string, string>,
  options: ServiceProcessOptions = {},
): Promise<ServiceProcess> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const url = `http://127.0.0.1:${port}`;
  const dir = await Deno.makeTempDir({ prefix: "callbridge-bench-kv-" });
  const kvPath = `${dir}/callbridge.kv`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(Deno.env.get("BENCH_SERVICE_FLAGS")?.split(" ").filter(Boolean) ?? []),
      ...(options.flags ?? []),
      ...(await taskFlags("start")).filter((flag) => !isEnvFileFlag(flag)),
      // The shipped permissions write only to data/: the temporary KV folder is added.
      `--allow-write=${dir}`,
      options.entry ?? "main.ts",
    ],
    env: { KV_PATH: kvPath, ...env, PORT: String(port), HOSTNAME: "127.0.0.1", PUBLIC_URL: url },
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const removeKv = () => Deno.remove(dir, { recursive: true });
  const deadline = Date.now() + 30000;
  while (true) {
    try {
      const res = await fetch(`${url}/health`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("service did not start within 30 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    pid: child.pid,
    kvPath,
    dir,
    async stop(options = {}) {
      child.kill("SIGTERM");
      await child.status;
      if (!options.keepKv) await removeKv();
    },
    removeKv,
  };
}

/** CPU time used so far (user + system, ms) and resident memory (KB) of a process. */
export async function processStats(pid: number): Promise<{ cpuMs: number; rssKb: number }> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const rssKb = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
  return { cpuMs: (ticks * 1000) / 100, rssKb };
}

/** The p-th percentile (nearest rank) of `samples`, rounded to µs. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[index] * 1000) / 1000;
}

/** CPU time used so far by the whole machine, all cores (ms), and its number of cores. */
export async function machineStats(): Promise<{ busyMs: number; cores: number }> {
  const stat = await Deno.readTextFile("/proc/stat");
  const lines = stat.split("\n");
  // cpu user nice system idle iowait irq softirq steal guest guest_nice: guest time is already
  // in user, so busy is user + nice + system + irq + softirq + steal.
  const f = lines[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
  const cores = lines.filter((line) => /^cpu\d/.test(line)).length;
  return { busyMs: (busy * 1000) / 100, cores };
}
