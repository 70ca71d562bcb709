/**
 * The committed island bundles (`static/islands/`) are what `deno task build` makes from the
 * current sources: a changed island without a rebuild fails here. Bundler output can differ
 * between Deno versions, so the comparison runs only with the version that built them.
 */

import assert from "node:assert/strict";
import { buildIslands, islandNames } from "../scripts/build_islands.ts";

const STATIC = new URL("../static/islands/", import.meta.url).pathname;
const manifest = JSON.parse(await Deno.readTextFile(`${STATIC}manifest.json`)) as {
  builtWith: string;
  islands: string[];
};
const sameDeno = manifest.builtWith === `deno ${Deno.version.deno}`;
if (!sameDeno) {
  console.log(
    `island bundle comparison SKIPPED: built with ${manifest.builtWith}, this is deno ${Deno.version.deno}`,
  );
}

Deno.test("every island has a committed bundle", async () => {
  assert.deepEqual(manifest.islands, await islandNames());
  for (const name of manifest.islands) {
    const bundle = await Deno.readTextFile(`${STATIC}${name}.js`);
    assert.match(bundle, new RegExp(`hydrateIsland|"${name}"`), `${name}.js hydrates its island`);
  }
});

Deno.test({
  name: "the committed island bundles match a fresh build",
  ignore: !sameDeno,
  async fn() {
    const out = await Deno.makeTempDir();
    try {
      await buildIslands(out);
      for (const name of manifest.islands) {
        const fresh = await Deno.readTextFile(`${out}/${name}.js`);
        const committed = await Deno.readTextFile(`${STATIC}${name}.js`);
        assert.ok(fresh === committed, `static/islands/${name}.js is stale: run deno task build`);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
