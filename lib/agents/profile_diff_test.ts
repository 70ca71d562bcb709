/** Unit tests of profile_diff.ts and profile_export.ts: line runs per file, exact zip contents. */

import assert from "node:assert/strict";
import { filesDiffer, profileDiff } from "./profile_diff.ts";
import { exportZip, readZip } from "./profile_export.ts";

const A = { agentJson: "{}\n", instructions: "One.\nTwo.\nThree.\n", toolsJson: null };
const B = { agentJson: "{}\n", instructions: "One.\n2.\nThree.\n", toolsJson: '["end_call"]\n' };

Deno.test("profileDiff: each file's runs of same, removed and added lines", () => {
  const [agent, instructions, tools] = profileDiff(A, B);
  assert.deepEqual(agent, {
    file: "agent.json",
    changed: false,
    parts: [{ kind: "same", text: "{}\n" }],
  });
  assert.deepEqual(instructions, {
    file: "instructions.md",
    changed: true,
    parts: [
      { kind: "same", text: "One.\n" },
      { kind: "del", text: "Two.\n" },
      { kind: "add", text: "2.\n" },
      { kind: "same", text: "Three.\n" },
    ],
  });
  assert.deepEqual(tools, {
    file: "tools.json",
    changed: true,
    parts: [{ kind: "add", text: '["end_call"]\n' }],
  });
  assert.equal(filesDiffer(A, B), true);
  assert.equal(filesDiffer(A, { ...A, toolsJson: "" }), false, "no tools.json is an empty one");
});

Deno.test("exportZip: the folder's files byte for byte; no tools.json when the version has none", () => {
  assert.deepEqual(readZip(exportZip("sales", B)), {
    "sales/agent.json": "{}\n",
    "sales/instructions.md": "One.\n2.\nThree.\n",
    "sales/tools.json": '["end_call"]\n',
  });
  assert.deepEqual(Object.keys(readZip(exportZip("sales", A))), [
    "sales/agent.json",
    "sales/instructions.md",
  ]);
  assert.deepEqual(exportZip("sales", B), exportZip("sales", B), "the same bytes every time");
});
