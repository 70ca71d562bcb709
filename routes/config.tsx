/**
 * `GET /config`: live checks with a fix for each failing one, the webhook URLs for the Twilio
 * console and the effective configuration with secrets masked.
 *
 * @module
 */

import type { Handler } from "hono";
import { Layout } from "../components/layout.tsx";
import { RejectedRequestsTable } from "../components/rejected_requests_table.tsx";
import { renderPage } from "../components/render.ts";
import { runConfigChecks } from "../lib/admin/config_checks.ts";
import { configRows, webhookUrls } from "../lib/admin/config_view.ts";
import { publicBaseUrl } from "../lib/platform/public_url.ts";
import type { Services } from "../lib/services.ts";

/** Renders the page (the checks run on every load). */
export function configPageHandler(services: Services): Handler {
  return async (c) => {
    const { config } = services;
    const checks = await runConfigChecks(config, services.twilio);
    const base = publicBaseUrl(config.publicUrl, c.req.raw);
    return renderPage(
      c,
      <Layout title="Configuration" active="/config">
        <h1>Configuration</h1>
        <section>
          <h2>Checks</h2>
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
