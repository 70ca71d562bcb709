/**
 * `/agents/:name`: edit a profile (instructions, greeting, voice, tools, silence) with each
 * validation problem shown next to its field; every save is a new version in KV and applies from
 * the next call. `/agents/:name/versions/:version` shows an earlier version; restoring one saves
 * it again as the newest.
 */

import type { Context, Handler } from "hono";
import { Layout } from "../../../components/layout.tsx";
import { renderPage } from "../../../components/render.ts";
import { REALTIME_VOICES } from "../../../lib/platform/config.ts";
import {
  filesFromForm,
  formFromFiles,
  problemsByField,
  type ProfileForm,
  readProfileForm,
} from "../../../lib/agents/profile_form.ts";
import { type ProfileVersion, SHIPPED_VERSION } from "../../../lib/agents/profile_store.ts";
import type { Services } from "../../../lib/services.ts";
import { formatTime } from "../../../components/format.ts";

/** `GET /agents/:name`: the editor with the newest version. */
export function agentPageHandler(services: Services): Handler {
  return async (c) => {
    const name = c.req.param("name") ?? "";
    const current = await services.profiles.files(name);
    if (!current) return notFound(c, name);
    const saved = Number(c.req.query("saved")) || null;
    return await editor(c, services, name, {
      form: formFromFiles(current.files),
      version: current.version,
      notice: saved ? `Saved as version ${saved}: the next call uses it.` : null,
    });
  };
}

/** `POST /agents/:name`: validates and saves the form as a new version. */
export function agentSaveHandler(services: Services): Handler {
  return async (c) => {
    const name = c.req.param("name") ?? "";
    const current = await services.profiles.files(name);
    if (!current) return notFound(c, name);
    const form = readProfileForm(await c.req.parseBody());
    const result = await services.profiles.save(name, filesFromForm(current.files, form));
    if (result.ok) return c.redirect(`/agents/${name}?saved=${result.version}`, 303);
    return await editor(c, services, name, {
      form,
      version: current.version,
      problems: problemsByField(result.problems),
    }, 422);
  };
}

/** `POST /agents/:name/restore`: saves version `version` (0 = shipped) again as the newest. */
export function agentRestoreHandler(services: Services): Handler {
  return async (c) => {
    const name = c.req.param("name") ?? "";
    const body = await c.req.parseBody();
    const version = Number(body.version);
    if (!services.profiles.has(name)) return notFound(c, name);
    const result = Number.isInteger(version) && version >= 0
      ? await services.profiles.restore(name, version)
      : { ok: false as const, problems: ["no version given"] };
    if (result.ok) return c.redirect(`/agents/${name}?saved=${result.version}`, 303);
    const current = (await services.profiles.files(name))!;
    return await editor(c, services, name, {
      form: formFromFiles(current.files),
      version: current.version,
      problems: { general: result.problems },
    }, 422);
  };
}

/** `GET /agents/:name/versions/:version`: one version's files, read-only. */
export function agentVersionHandler(services: Services): Handler {
  return async (c) => {
    const name = c.req.param("name") ?? "";
    const version = Number(c.req.param("version"));
    const files = Number.isInteger(version)
      ? await services.profiles.versionFiles(name, version)
      : null;
    if (!files) return notFound(c, `${name} version ${c.req.param("version")}`);
    const label = version === SHIPPED_VERSION ? "shipped files" : `version ${version}`;
    return renderPage(
      c,
      <Layout title={`${name}: ${label}`} active="/agents">
        <h1>
          <a href={`/agents/${name}`}>{name}</a>: {label}
        </h1>
        <RestoreButton name={name} version={version} />
        <section>
          <h2>agent.json</h2>
          <pre>{files.agentJson}</pre>
          <h2>instructions.md</h2>
          <pre>{files.instructions}</pre>
          <h2>tools.json</h2>
          <pre>{files.toolsJson ?? "(none)"}</pre>
        </section>
      </Layout>,
    );
  };
}

interface EditorState {
  form: ProfileForm;
  version: number;
  problems?: Record<string, string[]>;
  notice?: string | null;
}

async function editor(
  c: Context,
  services: Services,
  name: string,
  state: EditorState,
  status: 200 | 422 = 200,
): Promise<Response> {
  const versions = await services.profiles.versions(name, 50);
  const problems = state.problems ?? {};
  const { form } = state;
  const field = (
    key: keyof ProfileForm,
    label: string,
    hint: string,
    input: "text" | "textarea" | "number" = "text",
  ) => (
    <div class="field">
      <label for={key}>{label}</label>
      {input === "textarea"
        ? (
          <textarea id={key} name={key} rows={key === "instructions" ? 14 : 8}>
            {form[key]}
          </textarea>
        )
        : <input id={key} name={key} type={input} value={form[key]} />}
      <span class="hint">{hint}</span>
      <Problems list={problems[key]} field={key} />
    </div>
  );
  const choice = (
    key: keyof ProfileForm,
    label: string,
    hint: string,
    values: string[] = ["true", "false"],
  ) => (
    <div class="field">
      <label for={key}>{label}</label>
      <select id={key} name={key}>
        <option value="">default</option>
        {values.map((v) => <option key={v} value={v} selected={form[key] === v}>{v}</option>)}
        {form[key] && !values.includes(form[key])
          ? <option value={form[key]} selected>{form[key]}</option>
          : null}
      </select>
      <span class="hint">{hint}</span>
      <Problems list={problems[key]} field={key} />
    </div>
  );
  return renderPage(
    c,
    <Layout title={`Agent ${name}`} active="/agents">
      <h1>{`Agent ${name}`}</h1>
      <p class="muted">
        {state.version === SHIPPED_VERSION
          ? "Running the shipped files (never edited)."
          : `Running version ${state.version}.`}{" "}
        Saving makes a new version; the next call on any instance uses it.
      </p>
      {state.notice ? <p class="notice">{state.notice}</p> : null}
      {problems.general
        ? (
          <section class="problems">
            <Problems list={problems.general} field="general" />
          </section>
        )
        : null}
      <form method="post" action={`/agents/${name}`} class="card">
        {field(
          "instructions",
          "Instructions",
          "Markdown; {{from}}, {{agent}}, … are filled per call.",
          "textarea",
        )}
        {field("greeting", "Greeting", "Said first on the relay path; empty = WELCOME_GREETING.")}
        <div class="grid2">
          {field(
            "ttsProvider",
            "TTS provider (relay)",
            "ElevenLabs, Google, Amazon; empty = default.",
          )}
          {field("voice", "Voice (relay)", "The TTS provider's voice name; empty = default.")}
        </div>
        <div class="field">
          <label for="realtimeVoice">Voice (realtime)</label>
          <select id="realtimeVoice" name="realtimeVoice">
            <option value="">default (OPENAI_VOICE)</option>
            {REALTIME_VOICES.map((v) => (
              <option key={v} value={v} selected={form.realtimeVoice === v}>{v}</option>
            ))}
          </select>
          <Problems list={problems.realtimeVoice} field="realtimeVoice" />
        </div>
        <h2>Silence</h2>
        <div class="grid2">
          {field("reminderAfterSeconds", "Remind after (seconds)", "0 = never.", "number")}
          {field("maxReminders", "Reminders before hanging up", "0–10.", "number")}
          {field("reminder", "Reminder", "Said after the silence.")}
          {field("goodbye", "Goodbye", "Said before ending an unresponsive call.")}
        </div>
        <h2>ConversationRelay</h2>
        <p class="hint">
          Attributes of Twilio's &lt;ConversationRelay&gt;, named as in the twilio SDK; empty =
          Twilio's default (or INTERRUPT_SENSITIVITY, STT_HINTS).
        </p>
        <div class="grid2">
          {choice("ignorebackchannel", "Ignore backchannel", "“yeah”, “uh-huh” do not interrupt.")}
          {choice(
            "backgroundnoisereduction",
            "Background noise reduction",
            "Filter noise before recognition.",
          )}
          {field(
            "speechtimeout",
            "Speech timeout",
            "Silence that ends the caller's turn: auto or a whole number.",
          )}
          {choice(
            "interruptSensitivity",
            "Interrupt sensitivity",
            "How easily speech interrupts.",
            [
              "low",
              "medium",
              "high",
            ],
          )}
          {choice(
            "partialPrompts",
            "Partial prompts",
            "Drafts of the caller's words as they speak.",
          )}
          {field("hints", "Hints", "Words recognition should expect, comma-separated.")}
        </div>
        <h2>Tools</h2>
        {field(
          "toolsJson",
          "tools.json",
          "Built-in names and HTTP tools; empty = no tools.",
          "textarea",
        )}
        <button type="submit">Save as a new version</button>
      </form>
      <section>
        <h2>Versions</h2>
        <table class="versions">
          <thead>
            <tr>
              <th>Version</th>
              <th>Saved (UTC)</th>
              <th>Note</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <VersionRow key={v.version} name={name} v={v} current={state.version} />
            ))}
            <tr>
              <td>
                <a href={`/agents/${name}/versions/0`}>shipped files</a>
              </td>
              <td>—</td>
              <td>{`${services.config.agentsDir}/${name}`}</td>
              <td>
                <RestoreButton name={name} version={SHIPPED_VERSION} />
              </td>
            </tr>
          </tbody>
        </table>
      </section>
    </Layout>,
    status,
  );
}

function VersionRow({ name, v, current }: { name: string; v: ProfileVersion; current: number }) {
  return (
    <tr data-version={v.version}>
      <td>
        <a href={`/agents/${name}/versions/${v.version}`}>{`v${v.version}`}</a>
        {v.version === current ? " (current)" : ""}
      </td>
      <td>{formatTime(v.savedAt)}</td>
      <td>
        {v.restoredFrom === null
          ? "edited"
          : `restored from ${v.restoredFrom === 0 ? "the shipped files" : `v${v.restoredFrom}`}`}
      </td>
      <td>{v.version === current ? null : <RestoreButton name={name} version={v.version} />}</td>
    </tr>
  );
}

function RestoreButton({ name, version }: { name: string; version: number }) {
  return (
    <form method="post" action={`/agents/${name}/restore`}>
      <input type="hidden" name="version" value={String(version)} />
      <button type="submit" class="secondary">Restore</button>
    </form>
  );
}

function Problems({ list, field }: { list?: string[]; field: string }) {
  if (!list?.length) return null;
  return <>{list.map((p) => <p key={p} class="problem" data-field={field}>{p}</p>)}</>;
}

function notFound(c: Context, what: string): Response {
  return renderPage(
    c,
    <Layout title="Not found" active="/agents">
      <h1>Not found</h1>
      <p>
        There is no agent <code>{what.slice(0, 80)}</code>.
      </p>
    </Layout>,
    404,
  );
}
