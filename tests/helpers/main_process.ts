/**
 * The service as it ships: `main.ts` in its own process, started with the permission flags of
 * `deno.json`'s `start` task (read from the file, never copied), a temporary KV file and only
 * the environment a test gives it. Its JSON log lines are parsed as they come, so a test can wait
 * for an event instead of sleeping.
 *
 * @module
 */

import { within } from "./relay_harness.ts";

/** The project folder (where `deno.json` and `main.ts` are). */
export const PROJECT_DIR = new URL("../../", import.meta.url).pathname;

/**
 * The flags between `deno run` and the entry point of a `deno.json` task, e.g. `-P=service` for
 * `start`: what production runs with.
 */
export async function taskFlags(task: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${PROJECT_DIR}deno.json`));
  const command = config.tasks?.[task];
  if (typeof command !== "string") throw new Error(`deno.json has no "${task}" task`);
  return runFlags(command.split(/\s+/).filter(Boolean), `the "${task}" task`);
}

/** The flags of a `deno run … <entry>` argument list (`deno` first), without the entry point. */
export function runFlags(argv: string[], what: string): string[] {
  const run = argv.indexOf("run");
  const entry = argv.findIndex((arg, i) => i > run && /\.tsx?$/.test(arg));
  if (argv[0] !== "deno" || run < 0 || entry < 0) {
    throw new Error(`${what} is not "deno run [flags] <entry>": ${argv.join(" ")}`);
  }
  return argv.slice(run + 1, entry);
}

/** Flags that decide what the process may do (as opposed to how Deno loads or watches it). */
export function permissionFlags(flags: string[]): string[] {
  return flags.filter((flag) => /^(-P|--permission-set|--allow-|--deny-|-A$)/.test(flag));
}

/** Whether `flag` loads a `.env` file (`--env-file`, `--env-file=PATH`). */
export function isEnvFileFlag(flag: string): boolean {
  return flag === "--env-file" || flag.startsWith("--env-file=");
}

/** A running `main.ts`. */
export interface MainProcess {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  child: Deno.ChildProcess;
  /** The temporary KV file, and its folder under `data/` (removed by {@link MainProcess.close}). */
  kvPath: string;
  dir: string;
  /** Parsed JSON log lines (stdout and stderr), in arrival order. */
  lines: Record<string, unknown>[];
  /** Lines that were not JSON (Deno's own warnings, a crash's stack trace). */
  text: string[];
  /** Resolves with the first line of `event` (matching `where`), waiting for it if needed. */
  logged(
    event: string,
    options?: { where?: (line: Record<string, unknown>) => boolean; timeoutMs?: number },
  ): Promise<Record<string, unknown>>;
  /** Resolves with the exit status once the process has exited and its output is read. */
  exited: Promise<Deno.CommandStatus>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /** Kills the process if it still runs and removes its KV folder. */
  close(): Promise<void>;
}

/** Options of {@link startMain}. */
export interface MainOptions {
  /**
   * Flags to run with instead of the `start` task's (which lose `--env-file`: a test gives the
   * whole environment); a test of the flags themselves, or of another task's.
   */
  flags?: string[];
  /** The program to run (default `main.ts`). */
  entry?: string;
  /** Where the process's own stdout/stderr go besides being parsed: nowhere (default) or here. */
  echo?: boolean;
  /** The folder to run in, ending in "/" (default {@link PROJECT_DIR}; a copy, to edit files). */
  projectDir?: string;
}

/** Variables the child needs to run Deno at all; nothing else leaks in from the test's shell. */
const PASS_THROUGH = ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME", "NO_COLOR", "TMPDIR"];

/**
 * Starts `main.ts` on a free loopback port (its `PUBLIC_URL`) with the `start` task's flags and
 * `env` (plus a fresh KV file); resolves once it logs `server.listening`.
 */
export async function startMain(
  env: Record<string, string>,
  options: MainOptions = {},
): Promise<MainProcess> {
  // Not the developer's .env: a test gives the process its whole environment.
  const flags = options.flags ??
    (await taskFlags("start")).filter((flag) => !isEnvFileFlag(flag));
  const project = options.projectDir ?? PROJECT_DIR;
  // Inside data/, the one folder the shipped permissions let the service write to.
  await Deno.mkdir(`${project}data`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${project}data`, prefix: "test-" });
  const kvPath = `${dir}/callbridge.kv`;
  // A free port, so PUBLIC_URL can name it before the service starts (as a deployment would).
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const url = `http://127.0.0.1:${port}`;
  const inherited: Record<string, string> = {};
  for (const name of PASS_THROUGH) {
    const value = Deno.env.get(name);
    if (value !== undefined) inherited[name] = value;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, options.entry ?? "main.ts"],
    cwd: project,
    clearEnv: true,
    env: {
      ...inherited,
      NO_COLOR: "1",
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
      PUBLIC_URL: url,
      KV_PATH: kvPath,
      LOG_LEVEL: "info",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  const text: string[] = [];
  const waiters = new Set<() => void>();
  const read = async (stream: ReadableStream<Uint8Array<ArrayBuffer>>) => {
    let buffer = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      if (options.echo) Deno.stderr.writeSync(new TextEncoder().encode(chunk));
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          lines.push(JSON.parse(line));
        } catch {
          if (line.trim()) text.push(line);
        }
        for (const wake of waiters) wake();
      }
    }
  };
  const pumps = Promise.all([read(child.stdout), read(child.stderr)]);
  let done = false;
  const status = child.status.then((status) => {
    done = true;
    for (const wake of waiters) wake();
    return status;
  });
  const exited = status.then(async (status) => {
    await pumps;
    return status;
  });
  const logged: MainProcess["logged"] = async (event, opts = {}) => {
    const match = () => lines.find((l) => l.event === event && (opts.where?.(l) ?? true));
    const wait = (async () => {
      while (!match()) {
        if (done) {
          throw new Error(
            `main.ts exited before logging ${event}:\n${
              [...text, ...lines.map((l) => JSON.stringify(l))].join("\n")
            }`,
          );
        }
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
        });
      }
      return match()!;
    })();
    return await within(wait, opts.timeoutMs ?? 30_000, `main.ts logging ${event}`);
  };
  const close = async () => {
    kill(child);
    await exited;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await logged("server.listening");
  } catch (err) {
    await close();
    throw err;
  }
  return {
    url,
    child,
    kvPath,
    dir,
    lines,
    text,
    logged,
    exited,
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (!done) {
        try {
          child.kill(signal);
        } catch {
          // already exited
        }
      }
      return await exited;
    },
    close,
  };
}

/** Kills `child` if it still runs (a failed test must not leave it behind). */
export function kill(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // already exited
  }
}
