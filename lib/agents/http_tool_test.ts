/** Unit tests of the request an HTTP tool makes, the service's own `/demo/…` URLs included. */

import assert from "node:assert/strict";
import type { HttpToolSpec } from "./agent_profile.ts";
import { httpToolRequest } from "./http_tool.ts";
import { ToolError } from "./tools.ts";

function spec(url: string, method: HttpToolSpec["method"] = "POST"): HttpToolSpec {
  return { name: "t", description: "d", parameters: { type: "object" }, url, method };
}

Deno.test("HTTP tool request: JSON body, or the query for GET with the manifest's fixed", () => {
  const post = httpToolRequest(spec("https://api.example/x"), { a: 1 });
  assert.deepEqual([post.method, post.url.href, post.body, post.own], [
    "POST",
    "https://api.example/x",
    '{"a":1}',
    false,
  ]);
  const get = httpToolRequest(spec("https://api.example/x?a=fixed", "GET"), { a: 2, b: "y" });
  assert.equal(get.url.href, "https://api.example/x?a=fixed&b=y");
  assert.equal(get.body, undefined);
});

Deno.test("HTTP tool request: /demo/ URLs resolve against the service's base, and stay there", () => {
  const own = httpToolRequest(spec("/demo/booking/slots"), {}, "http://127.0.0.1:8000");
  assert.equal(own.url.href, "http://127.0.0.1:8000/demo/booking/slots");
  assert.equal(own.own, true);
  const under = httpToolRequest(spec("/demo/booking/book"), {}, "https://voice.example/cb");
  assert.equal(under.url.href, "https://voice.example/cb/demo/booking/book");
  assert.throws(
    () => httpToolRequest(spec("/demo/../agents/default"), {}, "http://127.0.0.1:8000"),
    ToolError,
  );
  assert.throws(() => httpToolRequest(spec("/demo/booking/slots"), {}, null), ToolError);
});
