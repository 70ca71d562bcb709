/**
 * The house rules of lib/, checked on the code itself: folders in layers that import only
 * downward (or within themselves), no import cycles, `services.ts` imported by nothing in lib/
 * (it is the composition root), nothing in lib/ reaching into routes/ or components/ (JSON data
 * from assets/ is fine), files of at most about 450 lines, each with an `@module` doc. And those
 * of routes/: each file is named after the URL it serves (Fresh-style), as app.ts's table says,
 * with an `@module` doc.
 */

import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { PROJECT_DIR } from "./helpers/main_process.ts";
import { startService } from "./helpers/service.ts";

/** lib/'s folders, top to bottom: a folder imports only from folders below it (and itself). */
const LAYERS: string[][] = [
  ["services.ts"],
  // SIP calls reuse the realtime call's transcript and tool runs.
  ["sip"],
  // Scenarios drive a simulated call over the relay socket, as Twilio would: they need no session.
  ["realtime", "relay", "outbound", "scenarios"],
  ["calls"],
  ["agents", "admin"],
  ["protocols", "records", "demo"],
  ["platform"],
];
const MAX_LINES = 460;

/** Every .ts file under lib/, relative to lib/ (with its unit tests, `*_test.ts`, if asked). */
async function libFiles(
  options: { tests?: boolean } = {},
  dir = `${PROJECT_DIR}lib`,
  prefix = "",
): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) {
      out.push(...await libFiles(options, `${dir}/${entry.name}`, `${prefix}${entry.name}/`));
    } else if (entry.name.endsWith(".ts")) {
      if (options.tests || !entry.name.endsWith("_test.ts")) out.push(`${prefix}${entry.name}`);
    }
  }
  return out.sort();
}

/** The relative imports (and re-exports) of `file`, resolved against lib/. */
function importsOf(file: string, text: string): string[] {
  const here = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : "";
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]);
  return specs.map((spec) => {
    const parts = [...(here ? here.split("/") : []), ...spec.split("/")];
    const out: string[] = [];
    for (const part of parts) {
      if (part === "..") out.length ? out.pop() : out.push("..");
      else if (part !== ".") out.push(part);
    }
    return out.join("/");
  });
}

function layerOf(file: string): number {
  const folder = file.includes("/") ? file.slice(0, file.indexOf("/")) : file;
  const index = LAYERS.findIndex((layer) => layer.includes(folder));
  if (index < 0) throw new Error(`lib/${file} is in no layer: add its folder to LAYERS`);
  return index;
}

const folderOf = (file: string) => file.includes("/") ? file.slice(0, file.indexOf("/")) : file;

Deno.test("lib/ imports only downward (or within a folder), and never routes/ or components/", async () => {
  const problems: string[] = [];
  for (const file of await libFiles()) {
    const text = await Deno.readTextFile(`${PROJECT_DIR}lib/${file}`);
    for (const target of importsOf(file, text)) {
      // Data may come from assets/ (the published profile schemas); code never from outside lib/.
      if (/^\.\.\/assets\/.+\.json$/.test(target)) continue;
      if (target.startsWith("..")) {
        problems.push(`lib/${file} imports ${target.replace(/^\.\.\//, "")} (outside lib/)`);
        continue;
      }
      if (target === "services.ts" && file !== "services.ts") {
        problems.push(`lib/${file} imports the composition root, services.ts`);
        continue;
      }
      if (folderOf(target) === folderOf(file)) continue;
      if (layerOf(target) <= layerOf(file)) {
        problems.push(`lib/${file} imports lib/${target} (not below it)`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("lib/ has no import cycles", async () => {
  const graph = new Map<string, string[]>();
  for (const file of await libFiles()) {
    graph.set(file, importsOf(file, await Deno.readTextFile(`${PROJECT_DIR}lib/${file}`)));
  }
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" → "));
      return;
    }
    state.set(file, "open");
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

Deno.test("every lib/ file is small and says what it holds (@module)", async () => {
  const problems: string[] = [];
  for (const file of await libFiles()) {
    const text = await Deno.readTextFile(`${PROJECT_DIR}lib/${file}`);
    const lines = text.split("\n").length;
    if (lines > MAX_LINES) problems.push(`lib/${file}: ${lines} lines`);
    if (!/^\/\*\*[\s\S]*?@module[\s\S]*?\*\//.test(text)) {
      problems.push(`lib/${file}: no @module doc`);
    }
  }
  assert.deepEqual(problems, []);
});

/** URLs served by another URL's file, as app.ts's module doc explains. */
const SHARED_ROUTE_FILES: Record<string, string> = {
  "/twilio/voice/relay": "/twilio/voice",
  "/twilio/voice/realtime": "/twilio/voice",
  "/twilio/voice/sip": "/twilio/voice",
};

/** Every .ts/.tsx file under routes/, as `routes/…`. */
async function routeFiles(dir = `${PROJECT_DIR}routes`, prefix = "routes/"): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) {
      out.push(...await routeFiles(`${dir}/${entry.name}`, `${prefix}${entry.name}/`));
    } else if (/\.tsx?$/.test(entry.name)) out.push(`${prefix}${entry.name}`);
  }
  return out.sort();
}

/** The files Fresh's file routing would serve `url` from: `:x` is `[x]`, a folder's `index`. */
function freshFiles(url: string): string[] {
  const path = `routes${url.replace(/:(\w+)/g, "[$1]")}`.replace(/\/$/, "");
  return [".ts", ".tsx"].flatMap((ext) => [`${path}${ext}`, `${path}/index${ext}`]);
}

Deno.test("routes/ mirrors the URLs: app.ts's table, its routes and the files agree", async () => {
  const appSource = await Deno.readTextFile(`${PROJECT_DIR}app.ts`);
  const table = new Set<string>();
  for (
    const [, methods, url, file] of appSource.matchAll(
      /^ \* \| ([A-Z, ]+?) +\| `([^`]+)`[^|]*\| `([^`]+)`/gm,
    )
  ) {
    for (const method of methods.split(", ")) table.add(`${method} ${url} ${file}`);
  }
  const svc = await startService();
  let registered: { method: string; path: string }[];
  try {
    registered = createApp(svc.services).routes.filter((r) => r.method !== "ALL");
  } finally {
    await svc.close();
  }
  const files = await routeFiles();
  const problems: string[] = [];
  const named = new Set<string>();
  for (const { method, path } of registered) {
    const file = [...table].find((row) => row.startsWith(`${method} ${path} `))?.split(" ")[2];
    if (!file) {
      problems.push(`${method} ${path} is not in app.ts's table`);
      continue;
    }
    named.add(`${method} ${path} ${file}`);
    if (!freshFiles(SHARED_ROUTE_FILES[path] ?? path).includes(file)) {
      problems.push(`${method} ${path} is served from ${file}, not ${freshFiles(path)[0]}(x)`);
    }
    if (!files.includes(file)) problems.push(`${file} (for ${method} ${path}) does not exist`);
    if (!appSource.includes(`from "./${file}"`)) problems.push(`app.ts does not import ${file}`);
  }
  for (const row of table) if (!named.has(row)) problems.push(`app.ts's table: ${row} is no route`);
  const tabled = new Set([...table].map((row) => row.split(" ")[2]));
  for (const file of files) {
    if (!tabled.has(file)) problems.push(`${file} serves no route in app.ts's table`);
    const text = await Deno.readTextFile(`${PROJECT_DIR}${file}`);
    if (!/^\/\*\*[\s\S]*?@module[\s\S]*?\*\//.test(text)) problems.push(`${file}: no @module doc`);
  }
  assert.deepEqual(problems, []);
  assert.ok(registered.length >= 20, `only ${registered.length} routes found`);
});

/** The pure parts, whose rules are pinned by unit tests beside them (`name_test.ts`). */
const UNIT_TESTED = [
  "calls/bad_frames.ts",
  "calls/dtmf_buffer.ts",
  "calls/silence_monitor.ts",
  "protocols/g711.ts",
  "protocols/media_playout.ts",
  "protocols/media_streams_caller.ts",
  "realtime/agent_voice.ts",
  "realtime/call_transcript.ts",
  "realtime/held_audio.ts",
  "realtime/playout_tracker.ts",
  "realtime/response_sequencer.ts",
  "realtime/upstream_session.ts",
  "realtime/watchdog.ts",
  "relay/heard_history.ts",
  "relay/replies.ts",
  "relay/turn_loop.ts",
];

Deno.test("the pure parts have unit tests beside them, which import them", async () => {
  const files = await libFiles({ tests: true });
  const problems: string[] = [];
  for (const module of UNIT_TESTED) {
    const test = module.replace(/\.ts$/, "_test.ts");
    if (!files.includes(module)) problems.push(`lib/${module} does not exist`);
    else if (!files.includes(test)) problems.push(`lib/${test} is missing`);
    else {
      const text = await Deno.readTextFile(`${PROJECT_DIR}lib/${test}`);
      if (!importsOf(test, text).includes(module)) problems.push(`lib/${test} skips ${module}`);
    }
  }
  assert.deepEqual(problems, []);
});
