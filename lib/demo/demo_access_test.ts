/** Unit tests of the tool-signature check, against signatures made as HTTP tools make them. */

import assert from "node:assert/strict";
import { hmacSha256Hex } from "../platform/hmac.ts";
import { SIGNATURE_TOLERANCE_SECONDS, verifyToolSignature } from "./demo_access.ts";

const SECRET = "s3cret";
const NOW = 1_900_000_000_000;
const TS = String(NOW / 1000);

async function signature(secret: string, timestamp: string, signed: string): Promise<string> {
  return `sha256=${await hmacSha256Hex(secret, `${timestamp}.${signed}`)}`;
}

Deno.test("tool signatures: the tools' own signature passes; anything else does not", async () => {
  const body = '{"date":"2030-01-31"}';
  const good = await signature(SECRET, TS, body);
  const check = (signature: string | null, timestamp: string | null, signed = body) =>
    verifyToolSignature(SECRET, { signature, timestamp, signed }, NOW);
  assert.equal(await check(good, TS), true);
  assert.equal(await check(good, TS, '{"date":"2030-02-01"}'), false, "another body");
  assert.equal(await check(await signature("other", TS, body), TS), false, "another secret");
  assert.equal(await check(good, String(Number(TS) + 1)), false, "another timestamp");
  assert.equal(await check(null, TS), false);
  assert.equal(await check(good, null), false);
  assert.equal(await check(good.replace("sha256=", "sha1="), TS), false);
  assert.equal(await check("sha256=zz", TS), false);
  assert.equal(await check(good.toUpperCase().replace("SHA256=", "sha256="), TS), false);
});

Deno.test("tool signatures: fresh only, within the tolerance either way", async () => {
  const body = "{}";
  for (
    const [offset, ok] of [
      [0, true],
      [SIGNATURE_TOLERANCE_SECONDS, true],
      [
        -SIGNATURE_TOLERANCE_SECONDS,
        true,
      ],
      [SIGNATURE_TOLERANCE_SECONDS + 1, false],
      [-SIGNATURE_TOLERANCE_SECONDS - 1, false],
    ] as const
  ) {
    const ts = String(Number(TS) + offset);
    const signed = await verifyToolSignature(SECRET, {
      signature: await signature(SECRET, ts, body),
      timestamp: ts,
      signed: body,
    }, NOW);
    assert.equal(signed, ok, `offset ${offset}`);
  }
});
