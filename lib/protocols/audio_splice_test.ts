/** Spliced audio messages: the same text JSON.stringify would give, built around the payload. */

import assert from "node:assert/strict";
import { audioSplicer } from "./audio_splice.ts";

Deno.test("the spliced message is the shape's JSON with the payload as its audio", () => {
  const shape = { type: "input_audio_buffer.append", audio: "" } as const;
  const append = audioSplicer(shape);
  assert.equal(append("AAEC/w=="), JSON.stringify({ ...shape, audio: "AAEC/w==" }));
  assert.equal(append(""), JSON.stringify(shape));
});

Deno.test("a shape whose audio is not its last field, or not empty, is refused", () => {
  assert.throws(
    () => {
      const first = { audio: "", type: "x" };
      audioSplicer(first);
    },
    /audio must be the last field/,
  );
  const filled = { type: "x", audio: "AA==" };
  assert.throws(() => audioSplicer(filled), /audio must be the last field/);
});
