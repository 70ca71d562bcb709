import assert from "node:assert/strict";
import { benchOptions } from "./bench_options.ts";

const spec = { calls: { full: 200, quick: 20 }, seconds: { full: 20, quick: 5 } };

Deno.test("bench options: full values by default, quick ones under --quick", () => {
  assert.deepEqual(benchOptions(spec, []), { quick: false, calls: 200, seconds: 20 });
  assert.deepEqual(benchOptions(spec, ["--quick"]), { quick: true, calls: 20, seconds: 5 });
});

Deno.test("bench options: a value given wins over --quick", () => {
  assert.deepEqual(benchOptions(spec, ["--quick", "--calls", "7"]), {
    quick: true,
    calls: 7,
    seconds: 5,
  });
});

Deno.test("bench options: another benchmark's option is accepted and ignored", () => {
  assert.deepEqual(benchOptions(spec, ["--minutes", "3", "--tokens=9"]), {
    quick: false,
    calls: 200,
    seconds: 20,
  });
});

Deno.test("bench options: an option no benchmark reads, or a bad number, is refused", () => {
  assert.throws(() => benchOptions(spec, ["--cals", "3"]), /cals/);
  assert.throws(() => benchOptions(spec, ["--calls", "many"]), /--calls must be a number/);
});
