/**
 * The committed island bundles (`static/islands/`) are what `deno task build` makes from the
 * current sources: a changed island without a rebuild fails here. Bundler output can differ
 * between Deno versions, so the bundles are built with the Deno pinned in `.dvmrc`, and the tests
 * run with it (a test in tests/pinned_deno_test.ts says so when they do not).
 */

import assert from "node:assert/strict";
import { buildIslands, islandNames, workletNames } from "../scripts/build_islands.ts";

const STATIC = new URL("../static/islands/", import.meta.url).pathname;
const manifest = JSON.parse(await Deno.readTextFile(`${STATIC}manifest.json`)) as {
  builtWith: string;
  islands: string[];
  worklets: string[];
};
const PINNED = (await Deno.readTextFile(new URL("../.dvmrc", import.meta.url))).trim();

Deno.test("every island has a committed bundle", async () => {
  assert.deepEqual(manifest.islands, await islandNames());
  for (const name of manifest.islands) {
    const bundle = await Deno.readTextFile(`${STATIC}${name}.js`);
    assert.match(bundle, new RegExp(`hydrateIsland|"${name}"`), `${name}.js hydrates its island`);
  }
});

Deno.test("every audio worklet has a committed bundle that registers its processor", async () => {
  assert.deepEqual(manifest.worklets, await workletNames());
  assert.ok(manifest.worklets.length > 0, "the voice simulator's worklet is there");
  for (const name of manifest.worklets) {
    const bundle = await Deno.readTextFile(`${STATIC}${name}.js`);
    assert.match(bundle, /registerProcessor\(/, `${name}.js registers its processor`);
    assert.doesNotMatch(bundle, /(^|[;}])\s*import\s*[{*"]/, `${name}.js imports nothing`);
  }
});

Deno.test({
  name: "the committed island bundles match a fresh build",
  async fn() {
    assert.equal(manifest.builtWith, `deno ${PINNED}`, "rebuild with the pinned Deno (.dvmrc)");
    assert.equal(Deno.version.deno, PINNED, "run the tests with the pinned Deno (.dvmrc)");
    const out = await Deno.makeTempDir();
    try {
      await buildIslands(out);
      for (const name of [...manifest.islands, ...manifest.worklets]) {
        const fresh = await Deno.readTextFile(`${out}/${name}.js`);
        const committed = await Deno.readTextFile(`${STATIC}${name}.js`);
        assert.ok(fresh === committed, `static/islands/${name}.js is stale: run deno task build`);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
