/**
 * "Test this tool" on the agent page (server-only): a small form per tool that runs it with
 * the arguments typed (`POST /agents/:name/tools/:tool/test`), and the result page that shows
 * the request it made, the answer and the time taken.
 *
 * @module
 */

import type { Context } from "hono";
import type { JsonSchema } from "../lib/agents/tools.ts";
import { Layout } from "./layout.tsx";
import { renderPage } from "./render.ts";

/** A tool as the tester lists it. */
export interface TestableTool {
  name: string;
  description: string;
  parameters: JsonSchema;
}

/** Example arguments for `schema`: each property named, with an empty value of its type. */
export function exampleArguments(schema: JsonSchema): string {
  const properties = (schema.properties ?? {}) as Record<string, { type?: string }>;
  const example: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(properties)) {
    example[key] = spec.type === "number" || spec.type === "integer"
      ? 0
      : spec.type === "boolean"
      ? false
      : "";
  }
  return JSON.stringify(example);
}

/** The agent page's section: one "Test this tool" form per tool of agent `name`. */
export function ToolTester({ name, tools }: { name: string; tools: TestableTool[] }) {
  return (
    <section class="card tool-tester">
      <h2>Test a tool</h2>
      <p class="muted">
        Runs the tool of the running version with the arguments you type (JSON, checked against its
        schema), as a call would, outside any call: built-ins do nothing to a call.
      </p>
      {tools.map((tool) => (
        <details key={tool.name} data-tool={tool.name}>
          <summary>
            <code>{tool.name}</code> {tool.description}
          </summary>
          <ToolForm agent={name} tool={tool.name} value={exampleArguments(tool.parameters)} />
        </details>
      ))}
    </section>
  );
}

function ToolForm({ agent, tool, value }: { agent: string; tool: string; value: string }) {
  return (
    <form method="post" action={`/agents/${agent}/tools/${tool}/test`} class="tool-test">
      <label for={`args-${tool}`}>Arguments</label>
      <textarea id={`args-${tool}`} name="arguments" rows={3}>{value}</textarea>
      <button type="submit">Test this tool</button>
    </form>
  );
}

/** What one test run did. */
export interface ToolTestOutcome {
  agent: string;
  tool: string;
  /** The arguments as typed. */
  arguments: string;
  /** The arguments were refused: why (nothing ran). */
  refused?: string;
  /** The HTTP request made, for an HTTP tool. */
  request?: { method: string; url: string; body: string | undefined };
  /** What a built-in would have done to the call. */
  effects?: string[];
  ok?: boolean;
  /** The answer, as the model would read it (JSON text). */
  output?: string;
  durationMs?: number;
}

/** The result page of a test run; 400 when the arguments were refused. */
export function renderToolTest(c: Context, outcome: ToolTestOutcome): Response {
  const { agent, tool } = outcome;
  return renderPage(
    c,
    <Layout title={`Test of ${tool}`} active="/agents">
      <h1>
        Test of <code>{tool}</code>
      </h1>
      <p>
        <a href={`/agents/${agent}`}>{`Back to agent ${agent}`}</a>
      </p>
      {outcome.refused
        ? <p class="problem" id="tool-refused">{outcome.refused}</p>
        : (
          <section class="card" id="tool-result" data-ok={String(outcome.ok)}>
            <h2>Request</h2>
            {outcome.request
              ? (
                <pre id="tool-request">{`${outcome.request.method} ${outcome.request.url}${
                  outcome.request.body === undefined ? "" : `\n\n${outcome.request.body}`
                }`}</pre>
              )
              : (
                <pre id="tool-request">
                  {`built-in ${tool}(${outcome.arguments})${
                    outcome.effects?.length ? `\nwould: ${outcome.effects.join("; ")}` : ""
                  }`}
                </pre>
              )}
            <h2>{outcome.ok ? "Answer" : "Failed"}</h2>
            <pre id="tool-answer">{prettyJson(outcome.output ?? "")}</pre>
            <p>
              Took <span id="tool-time">{outcome.durationMs}</span> ms.
            </p>
          </section>
        )}
      <ToolForm agent={agent} tool={tool} value={outcome.arguments} />
    </Layout>,
    outcome.refused ? 400 : 200,
  );
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
