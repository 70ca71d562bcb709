/**
 * Tools the model can call during a call: one registry for both call paths.
 *
 * A tool is a name, a description, a JSON Schema for its arguments and a handler that gets a
 * typed context. Arguments are validated against the schema before the handler runs; a bad call,
 * a failing handler or a timeout becomes an error result the model reads, and the call goes on.
 *
 * @module
 */

import type { FunctionDeclaration } from "../protocols/openai_realtime.ts";
import { Ajv, type ValidateFunction } from "ajv";
import type { AgentProfile } from "./agent_profile.ts";
import type { Logger } from "../platform/log.ts";
import { errorMessage } from "../platform/log.ts";

/** A JSON Schema object describing a tool's arguments. */
export type JsonSchema = Record<string, unknown>;

/** The call a tool runs in. */
export interface ToolCallInfo {
  callSid: string;
  from: string;
  to: string;
  direction: string;
  agent: string;
  mode: "relay" | "realtime" | "sip";
  params: Record<string, unknown>;
}

/** What a tool may do to the call; each call path implements these its own way. */
export interface CallControls {
  /** Ends the call once the agent's goodbye has been heard; `detail` is the model's reason. */
  endCall(detail: string): void;
  /** Hands the call to a person (after the agent's last words). */
  transferToHuman(handoff: { number: string | null; summary: string }): Promise<void> | void;
  /** Plays DTMF tones into the call (e.g. to navigate another IVR). */
  sendDigits(digits: string): Promise<void> | void;
  /** Switches speech recognition and synthesis to `language`. */
  switchLanguage(language: string): Promise<void> | void;
}

/** Twilio's Messages API, as one call's tools use it. */
export interface SmsSender {
  send(message: { to: string; body: string }): Promise<{ sid: string }>;
  /** Texts this call has sent. */
  readonly sent: number;
}

/** A call's {@link SmsSender} over `send`, counting what it sends. */
export function callSms(
  send: (message: { to: string; body: string }) => Promise<{ sid: string }>,
): SmsSender {
  let sent = 0;
  return {
    get sent() {
      return sent;
    },
    async send(message) {
      sent++;
      return await send(message);
    },
  };
}

/** Everything a tool handler gets. */
export interface ToolContext {
  call: ToolCallInfo;
  profile: AgentProfile;
  controls: CallControls;
  /** null when Twilio credentials or `TWILIO_PHONE_NUMBER` are not configured. */
  sms: SmsSender | null;
  /** The number a hand-off dials when the profile has none. */
  handoffNumber: string | null;
  /** Aborted at the tool's timeout or when the call ends. */
  signal: AbortSignal;
  log: Logger;
}

/** One tool. */
export interface Tool {
  name: string;
  description: string;
  parameters: JsonSchema;
  /** Longest run before the tool fails with a timeout (default: the registry's). */
  timeoutMs?: number;
  run(args: Record<string, unknown>, context: ToolContext): Promise<unknown>;
}

/** The outcome of one tool call, as handed back to the model. */
export interface ToolResult {
  name: string;
  ok: boolean;
  /** JSON text for the model. */
  output: string;
  durationMs: number;
}

/** A tool in the shape each OpenAI API declares it. */
export type ToolDeclaration = FunctionDeclaration;

/** A tool failure whose message is safe and useful for the model to read. */
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ToolError";
  }
}

/** The tools of one agent, ready to declare to the model and to run. */
export class ToolSet {
  readonly #tools = new Map<string, { tool: Tool; validate: ValidateFunction }>();

  constructor(tools: Tool[], readonly defaultTimeoutMs: number) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    for (const tool of tools) {
      this.#tools.set(tool.name, { tool, validate: ajv.compile(tool.parameters) });
    }
  }

  get size(): number {
    return this.#tools.size;
  }

  /** The declarations to send to the model. */
  declarations(): ToolDeclaration[] {
    return [...this.#tools.values()].map(({ tool }) => ({
      name: tool.name,
      description: tool.description,
      parameters: tool.parameters,
    }));
  }

  /** The tool named `name`, or undefined. */
  tool(name: string): Tool | undefined {
    return this.#tools.get(name)?.tool;
  }

  /**
   * Parses `argumentsJson` and validates it against the schema of tool `name`: the arguments,
   * or what is wrong, worded for the model (and the admin page's "test this tool").
   */
  check(
    name: string,
    argumentsJson: string,
  ): { ok: true; args: Record<string, unknown> } | { ok: false; error: string } {
    const entry = this.#tools.get(name);
    if (!entry) return { ok: false, error: `There is no tool named "${name}".` };
    let args: unknown;
    try {
      args = argumentsJson.trim() ? JSON.parse(argumentsJson) : {};
    } catch {
      return { ok: false, error: "The arguments are not valid JSON." };
    }
    if (!entry.validate(args)) {
      const problems = (entry.validate.errors ?? [])
        .map((e) => `${e.instancePath || "arguments"} ${e.message}`)
        .join("; ");
      return { ok: false, error: `Invalid arguments: ${problems}` };
    }
    return { ok: true, args: args as Record<string, unknown> };
  }

  /** Validates and runs one call from the model. Never throws. */
  async call(name: string, argumentsJson: string, context: ToolContext): Promise<ToolResult> {
    const started = performance.now();
    const done = (ok: boolean, value: unknown): ToolResult => ({
      name,
      ok,
      output: JSON.stringify(ok ? value ?? { ok: true } : { error: value }),
      durationMs: Math.round(performance.now() - started),
    });
    const checked = this.check(name, argumentsJson);
    if (!checked.ok) return done(false, checked.error);
    const { args } = checked;
    const entry = this.#tools.get(name)!;
    // An "abort" listener never fires for a signal that is already aborted.
    if (context.signal.aborted) return done(false, "The call moved on before the tool finished.");
    const timeoutMs = entry.tool.timeoutMs ?? this.defaultTimeoutMs;
    // The tool stops when the call moves on or at its timeout, whichever comes first.
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([context.signal, timeout]);
    try {
      const value = await Promise.race([
        entry.tool.run(args, { ...context, signal }),
        new Promise<never>((_, reject) => {
          signal.addEventListener("abort", () => {
            reject(
              new ToolError(
                timeout.aborted
                  ? `The tool did not answer within ${timeoutMs} ms.`
                  : "The call moved on before the tool finished.",
              ),
            );
          }, { once: true });
        }),
      ]);
      return done(true, value);
    } catch (err) {
      context.log.warn("tool.failed", { tool: name, error: errorMessage(err) });
      return done(
        false,
        err instanceof ToolError ? err.message : `The tool failed: ${errorMessage(err)}`,
      );
    }
  }
}
