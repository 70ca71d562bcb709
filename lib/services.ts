/**
 * The process-wide services every route and call session uses, built once at start-up.
 */

import { CallRegistry } from "./call_registry.ts";
import { type Config, ConfigError } from "./config.ts";
import { createLlm, type Llm } from "./llm.ts";
import { Logger, type LogSink } from "./log.ts";

/** Configuration plus shared clients; sessions get this, never module globals. */
export interface Services {
  config: Config;
  log: Logger;
  llm: Llm | null;
  registry: CallRegistry;
  /** The agent's instructions (markdown). */
  instructions: string;
}

/** Builds the services for `config`, reading the instructions file. */
export async function createServices(
  config: Config,
  options: { sink?: LogSink } = {},
): Promise<Services> {
  let instructions: string;
  try {
    instructions = await Deno.readTextFile(config.instructionsFile);
  } catch (err) {
    throw new ConfigError([
      `INSTRUCTIONS_FILE: cannot read "${config.instructionsFile}" (${(err as Error).name})`,
    ]);
  }
  return {
    config,
    log: new Logger(config.logLevel, {}, options.sink),
    llm: createLlm(config.openai),
    registry: new CallRegistry(),
    instructions,
  };
}

/** Start-up warnings about a configuration that works but is not production-ready. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (!config.twilio.validateSignature) {
    warnings.push(
      "TWILIO_VALIDATE_SIGNATURE=false: Twilio signatures are NOT checked; anyone can reach /twilio/*",
    );
  } else if (!config.twilio.authToken) {
    warnings.push(
      "TWILIO_AUTH_TOKEN is not set: every /twilio/* request is refused (403) until it is",
    );
  }
  if (!config.openai.apiKey) {
    warnings.push("OPENAI_API_KEY is not set: callers hear a short apology instead of the agent");
  }
  if (!config.publicUrl) {
    warnings.push("PUBLIC_URL is not set: URLs are derived from each request's Host header");
  }
  return warnings;
}
