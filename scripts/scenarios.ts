/**
 * `deno task scenarios [--agent NAME] [--scenario GLOB] [--url BASE] [--junit FILE]`: runs agent
 * scenarios as real ConversationRelay calls and checks them (`lib/scenarios/`). By default against
 * the service started in this process (the configured KV and agents folder, served on a free
 * loopback port that is also its public URL, so HTTP tools reach it); with `--url`, against a
 * running deployment, as the admin (`ADMIN_PASSWORD`). Prints a line per scenario as it
 * finishes and a summary table, writes JUnit XML with `--junit`, and exits 1 when any scenario
 * failed or was an error (or on bad flags or scenario files, each problem named), else 0.
 */

import { serveOnLoopback } from "../app.ts";
import { SimulatorTokens } from "../lib/admin/simulator_token.ts";
import { ConfigError, loadConfig } from "../lib/platform/config.ts";
import { errorMessage } from "../lib/platform/log.ts";
import {
  parseScenarioArgs,
  ScenarioArgsError,
  SCENARIOS_HELP,
  SCENARIOS_USAGE,
  selectScenarios,
} from "../lib/scenarios/scenario_cli.ts";
import { scenarioModelsOf } from "../lib/scenarios/scenario_models.ts";
import {
  anyFailed,
  junitXml,
  progressLine,
  summaryTable,
} from "../lib/scenarios/scenario_report.ts";
import { runScenarios } from "../lib/scenarios/scenario_run.ts";
import {
  localTarget,
  remoteTarget,
  type ScenarioTarget,
} from "../lib/scenarios/scenario_target.ts";

/** Runs the command for `args` with `env`; returns the exit code. */
async function main(args: string[], env: Record<string, string>): Promise<number> {
  try {
    const options = parseScenarioArgs(args);
    if (options.help) {
      console.log(SCENARIOS_HELP);
      return 0;
    }
    const config = loadConfig(env);
    const scenarios = await selectScenarios(config.agentsDir, options);
    const models = scenarioModelsOf(config.openai);
    let target: ScenarioTarget;
    let base: string;
    let stop = () => Promise.resolve();
    if (options.url) {
      base = options.url.replace(/\/+$/, "");
      target = remoteTarget(base, config.adminPassword);
    } else {
      const server = await serveInProcess(env);
      base = server.url;
      target = server.target;
      stop = server.stop;
    }
    console.log(`${scenarios.length} scenario(s) against ${options.url ? base : "this process"}`);
    try {
      const saving: Promise<void>[] = [];
      const results = await runScenarios(scenarios, { target, models }, {
        finished: (result) => {
          console.log(progressLine(result));
          // The last run on the scenarios page (of this KV, or of the deployment at --url).
          saving.push(
            target.save(result).catch((err) => {
              console.error(`warning: ${result.scenario}'s run was not kept: ${errorMessage(err)}`);
            }),
          );
        },
      });
      await Promise.all(saving);
      console.log(`\n${summaryTable(results)}`);
      if (options.junit) {
        await Deno.writeTextFile(options.junit, junitXml(results, base));
        console.log(`JUnit XML: ${options.junit}`);
      }
      return anyFailed(results) ? 1 : 0;
    } finally {
      await stop();
    }
  } catch (err) {
    if (err instanceof ScenarioArgsError || err instanceof ConfigError) {
      console.error(`error:\n${err.problems.map((p) => `  ${p}`).join("\n")}\n${SCENARIOS_USAGE}`);
    } else console.error(`error: ${errorMessage(err)}`);
    return 1;
  }
}

/** The service in this process on a free loopback port, which is also its public URL. */
async function serveInProcess(env: Record<string, string>) {
  // The service's own logs stay out of the report: warnings and errors only, on stderr.
  const { url, services, close } = await serveOnLoopback(
    (url) => ({
      ...loadConfig({ ...env, PUBLIC_URL: url, HOSTNAME: "127.0.0.1" }),
      logLevel: "warn",
    }),
    { sink: (line) => console.error(line) },
  );
  const target = localTarget({ ...services, tokens: new SimulatorTokens(services.kv) }, url);
  return { url, target, stop: close };
}

if (import.meta.main) Deno.exit(await main(Deno.args, Deno.env.toObject()));
