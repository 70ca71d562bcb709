/**
 * One Deno version, pinned in `.dvmrc`: the README's commands, CI and the Dockerfile take it from
 * there (or, for the Dockerfile's default, match it), and the tests run on it.
 */

import assert from "node:assert/strict";
import { PROJECT_DIR } from "./helpers/main_process.ts";

const read = (file: string) => Deno.readTextFile(`${PROJECT_DIR}${file}`);
const PINNED = (await read(".dvmrc")).trim();

Deno.test(".dvmrc holds one exact Deno version, and the tests run on it", () => {
  assert.match(PINNED, /^\d+\.\d+\.\d+$/);
  assert.equal(Deno.version.deno, PINNED, `run the tests with deno ${PINNED}`);
});

Deno.test("the README's commands, CI and the Dockerfile use the pinned version", async () => {
  const readme = await read("README.md");
  const commands = [...readme.matchAll(/^npx -y deno@(.+?) task (\w+)/gm)];
  assert.deepEqual(commands.map((m) => [m[1], m[2]]), [
    ["$(cat .dvmrc)", "dev"],
    ["$(cat .dvmrc)", "test"],
  ]);
  assert.doesNotMatch(readme, /deno@2[ .]/, "no other Deno version in the README");
  const ci = await read(".ci/run");
  assert.match(ci, /DENO_VERSION=\$\(tr -d '\[:space:\]' <\.dvmrc\)/);
  assert.match(ci, /npx -y "deno@\$\{DENO_VERSION\}"/);
  assert.doesNotMatch(ci, /deno@2/);
  const dockerfile = await read("Dockerfile");
  assert.equal(dockerfile.match(/^ARG DENO_VERSION=(\S+)$/m)?.[1], PINNED);
  assert.match(dockerfile, /^FROM denoland\/deno:\$\{DENO_VERSION\}$/m);
  assert.match(readme, /docker build --build-arg DENO_VERSION=\$\(cat \.dvmrc\)/);
});
