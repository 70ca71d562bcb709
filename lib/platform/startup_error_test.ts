/** The one-line start-up problems: each names the variable or flag to change. */

import assert from "node:assert/strict";
import { listenProblem, startupProblem } from "./startup_error.ts";

const AT = { hostname: "0.0.0.0", port: 80 };

Deno.test("listenProblem: each way listening fails names what to change", () => {
  assert.equal(
    listenProblem(new Deno.errors.AddrInUse("Address in use"), AT),
    "PORT 80 is already in use on 0.0.0.0: another process listens there " +
      "(stop it, or set PORT to a free port)",
  );
  assert.match(
    listenProblem(new Deno.errors.AddrNotAvailable("x"), AT),
    /^HOSTNAME 0\.0\.0\.0 is not an address of this machine/,
  );
  assert.match(
    listenProblem(new Deno.errors.PermissionDenied("x"), AT),
    /^cannot listen on 0\.0\.0\.0:80: the system refused \(.*set PORT to 1024 or above\)$/,
  );
  assert.match(
    listenProblem(new Deno.errors.NotCapable("x"), AT),
    /^cannot listen on 0\.0\.0\.0:80: Deno's permissions do not allow it .*-P=service\)$/,
  );
  assert.equal(
    listenProblem(new TypeError("odd"), AT),
    "cannot listen on 0.0.0.0:80: TypeError: odd",
  );
});

Deno.test("startupProblem: one line with the error's name and message", () => {
  assert.equal(
    startupProblem(new RangeError("bad")),
    "Callbridge could not start: RangeError: bad",
  );
  assert.equal(startupProblem("text"), "Callbridge could not start: text");
});
