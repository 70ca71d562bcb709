/**
 * `GET /config`: live checks with a fix for each failing one, the agents disabled by their
 * profiles' problems (and template warnings), numbers whose webhook names an unknown agent, the
 * webhook URLs for the Twilio console and the effective configuration with secrets masked.
 *
 * @module
 */

import type { Handler } from "hono";
import { Layout } from "../components/layout.tsx";
import { RejectedRequestsTable } from "../components/rejected_requests_table.tsx";
import { renderPage } from "../components/render.ts";
import { runConfigChecks } from "../lib/admin/config_checks.ts";
import { type CachedChecks, cachedConfigChecks } from "../lib/admin/config_check_cache.ts";
import { InstancesTable } from "../components/instances_table.tsx";
import { configRows, webhookUrls } from "../lib/admin/config_view.ts";
import { publicBaseUrl } from "../lib/platform/public_url.ts";
import type { Services } from "../lib/services.ts";
import { AgentProblems, AgentWarnings } from "../components/agent_status.tsx";
import { formatTime } from "../components/format.ts";
import { profileWarnings } from "../lib/agents/agent_profile.ts";
import { recentUnknownAgents } from "../lib/records/unknown_agents.ts";

/**
 * The checks, cached in KV for a minute (shared by the instances configured alike); `fresh` runs
 * them now.
 */
export async function configChecks(
  services: Services,
  options: { fresh?: boolean } = {},
): Promise<CachedChecks & { cached: boolean }> {
  const { config } = services;
  const sipAgents = await sipAgentsOf(services);
  const run = () => runConfigChecks(config, services.twilio, { sipAgents });
  return await cachedConfigChecks(services.kv, run, {
    // The agents answering over SIP count too: an agent moved to SIP is checked at once.
    config: { ...config, instance: null, sipAgents },
    instance: config.instance.id,
    fresh: options.fresh,
  });
}

/** The agents whose calls go to OpenAI's SIP endpoint: their own mode, else `VOICE_MODE`. */
async function sipAgentsOf(services: Services): Promise<string[]> {
  const names = services.profiles.names();
  const statuses = await Promise.all(names.map((name) => services.profiles.status(name)));
  const mode = (i: number) => statuses[i].profile?.mode ?? services.config.voiceMode;
  return names.filter((_, i) => mode(i) === "sip");
}

/** Renders the page (the checks come from the cache when at most a minute old). */
export function configPageHandler(services: Services): Handler {
  return async (c) => {
    const { config } = services;
    await services.profiles.syncCreated();
    const ran = await configChecks(services);
    const checks = ran.checks;
    const base = publicBaseUrl(config.publicUrl, c.req.raw);
    const agents = await Promise.all(
      services.profiles.names().map(async (name) => {
        const status = await services.profiles.status(name);
        const warnings = status.profile ? profileWarnings(status.profile, config.agentsDir) : [];
        return { name, status, warnings };
      }),
    );
    const findings = agents.filter((a) => a.status.problems.length || a.warnings.length);
    const unknown = await recentUnknownAgents(services.kv, { limit: 10 });
    return renderPage(
      c,
      <Layout title="Configuration" active="/config">
        <h1>Configuration</h1>
        <section id="checks" data-section="checks" data-cached={String(ran.cached)}>
          <h2>Checks</h2>
          <form method="post" action="/config/checks" class="inline">
            <span class="muted checked-at">
              {`Checked ${formatTime(ran.at)} UTC by ${ran.instance}${
                ran.cached ? " (cached for a minute)" : ""
              }. `}
            </span>
            <button type="submit" class="secondary">Check again</button>
          </form>
          {checks.map((check) => (
            <div
              key={check.name}
              class={`check ${check.ok ? "ok" : "bad"}`}
              data-check={check.name}
            >
              <strong>{`${check.ok ? "✓" : "✗"} ${check.name}`}</strong> — {check.detail}
              {check.fix ? <span class="fix">{`Fix: ${check.fix}`}</span> : null}
            </div>
          ))}
        </section>
        <section data-section="agents">
          <h2>Agents</h2>
          {findings.length === 0
            ? <p class="ok">{`✓ ${agents.length} agent profiles, no problems.`}</p>
            : findings.map(({ name, status, warnings }) => (
              <div key={name} data-agent={name}>
                <h3>
                  <a href={`/agents/${name}`}>{name}</a>
                  {status.profile ? null : <span class="bad mark">— disabled</span>}
                </h3>
                <AgentProblems status={status} />
                <AgentWarnings warnings={warnings} />
              </div>
            ))}
        </section>
        <section data-section="misconfigured-numbers">
          <h2>Misconfigured numbers</h2>
          {unknown.length === 0
            ? <p class="muted">No webhook named an unknown agent in the last week.</p>
            : (
              <>
                <p class="bad">
                  These numbers' voice webhooks name an agent that does not exist, so the default
                  agent answered them. Fix the webhook URL in the Twilio console (?agent=…).
                </p>
                <table>
                  <thead>
                    <tr>
                      <th>Number</th>
                      <th>Agent asked for</th>
                      <th>Last call (UTC)</th>
                    </tr>
                  </thead>
                  <tbody>
                    {unknown.map((u) => (
                      <tr key={u.to} data-number={u.to}>
                        <td>{u.to || "(none)"}</td>
                        <td>
                          <code>{u.agent}</code>
                        </td>
                        <td>{formatTime(u.at)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
        </section>
        <InstancesTable instances={await services.presence.instances()} own={config.instance.id} />
        <RejectedRequestsTable requests={services.rejections.list()} />
        <section>
          <h2>Twilio console</h2>
          {config.publicUrl ? null : (
            <p class="bad">
              PUBLIC_URL is not set: these URLs use this page's address, which Twilio may not reach.
            </p>
          )}
          <table>
            <tbody>
              {webhookUrls(base, services.profiles.names()).map((w) => (
                <tr key={w.url}>
                  <td>{w.what}</td>
                  <td>
                    <code>{w.url}</code>
                  </td>
                  <td>{`HTTP ${w.method}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section>
          <h2>Effective configuration</h2>
          <table class="config">
            <tbody>
              {configRows(config).map((row) => (
                <tr key={row.name}>
                  <td>
                    <code>{row.name}</code>
                  </td>
                  <td class={row.secret ? "muted" : undefined}>{row.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </Layout>,
    );
  };
}
