/**
 * Bundles each island (`islands/*.tsx`, not the shared modules such as `hydrate.ts`) and each
 * audio worklet (`islands/*_worklet.ts`, loaded by URL with `audioWorklet.addModule`) for the
 * browser with
 * `deno bundle --platform browser` into `static/islands/<name>.js` (JSX with Preact's automatic
 * runtime, from `scripts/islands_bundle.json`: the app's precompiled JSX only renders on the
 * server), and records the Deno version
 * that built them in `static/islands/manifest.json`. Run `deno task build` after changing an
 * island or what it imports; the bundles are committed so deployments need no build step.
 *
 * `--out DIR` writes elsewhere (the freshness test builds into a temporary folder).
 */

const ROOT = new URL("..", import.meta.url).pathname;

/** The islands to bundle (file names without `.tsx`). */
export async function islandNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(`${ROOT}islands`)) {
    if (entry.isFile && entry.name.endsWith(".tsx")) names.push(entry.name.slice(0, -4));
  }
  return names.sort();
}

/** The audio worklets to bundle (file names without `.ts`). */
export async function workletNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(`${ROOT}islands`)) {
    if (entry.isFile && entry.name.endsWith("_worklet.ts")) names.push(entry.name.slice(0, -3));
  }
  return names.sort();
}

/** Bundles every island and worklet into `outDir`; returns the files written. */
export async function buildIslands(outDir = `${ROOT}static/islands`): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const written: string[] = [];
  const islands = (await islandNames()).map((name) => ({ name, file: `${name}.tsx` }));
  const worklets = (await workletNames()).map((name) => ({ name, file: `${name}.ts` }));
  for (const { name, file } of [...islands, ...worklets]) {
    const output = `${outDir}/${name}.js`;
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        // The app precompiles JSX for server rendering; browsers need the automatic runtime.
        "--config",
        `${ROOT}scripts/islands_bundle.json`,
        "--no-lock",
        "--platform",
        "browser",
        "--minify",
        "--output",
        output,
        `${ROOT}islands/${file}`,
      ],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      throw new Error(`bundling ${name} failed:\n${new TextDecoder().decode(stderr)}`);
    }
    written.push(output);
  }
  const manifest = {
    builtWith: `deno ${Deno.version.deno}`,
    islands: await islandNames(),
    worklets: await workletNames(),
  };
  await Deno.writeTextFile(`${outDir}/manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  return written;
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--out");
  const files = await buildIslands(at >= 0 ? Deno.args[at + 1] : undefined);
  for (const file of files) console.log(`built ${file.replace(ROOT, "")}`);
}
