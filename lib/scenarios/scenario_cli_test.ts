/** The flags of `deno task scenarios`, each problem naming the flag, and its name globs. */

import assert from "node:assert/strict";
import { globMatches, parseScenarioArgs, ScenarioArgsError } from "./scenario_cli.ts";

Deno.test("flags are read, and a wrong one is named", () => {
  assert.deepEqual(
    parseScenarioArgs(["--agent", "default", "--scenario", "hands_*", "--junit", "out.xml"]),
    { agent: "default", scenario: "hands_*", url: null, junit: "out.xml", help: false },
  );
  assert.equal(
    parseScenarioArgs(["--url", "https://voice.example.com"]).url,
    "https://voice.example.com",
  );
  assert.throws(() => parseScenarioArgs(["--agnet", "x"]), (err: ScenarioArgsError) => {
    assert.match(err.problems[0], /--agnet/);
    return true;
  });
  assert.throws(() => parseScenarioArgs(["--url", "voice.example.com"]), /--url must be/);
});

Deno.test("globs match whole names, * and ? only", () => {
  assert.ok(globMatches("hands_*", "hands_off"));
  assert.ok(globMatches("default/*", "default/hands_off"));
  assert.ok(globMatches("ends_polite?y", "ends_politely"));
  assert.ok(!globMatches("hands", "hands_off"));
  assert.ok(!globMatches("a.c", "abc"));
});
