/**
 * The agent editor page and its parts (server-only), shared by the `/agents/:name` routes: what
 * the agent runs (the files or an edit) and, when the files changed under an edit, the
 * difference and the "follow the files" button; the form with each validation problem next to
 * its field, the versions table (diff, export, restore) and the agent's 404 page.
 *
 * @module
 */

import type { Context } from "hono";
import { REALTIME_VOICES } from "../lib/platform/config.ts";
import { profileWarnings } from "../lib/agents/agent_profile.ts";
import { filesDiffer, profileDiff } from "../lib/agents/profile_diff.ts";
import { formFromFiles, type ProfileForm } from "../lib/agents/profile_form.ts";
import {
  type ProfileFiles,
  type ProfileVersion,
  SHIPPED_VERSION,
} from "../lib/agents/profile_store.ts";
import type { Services } from "../lib/services.ts";
import {
  AgentProblems,
  AgentSource,
  AgentWarnings,
  DiffView,
  FILES_NOTE,
  FollowButton,
} from "./agent_status.tsx";
import { formatTime } from "./format.ts";
import { Layout } from "./layout.tsx";
import { renderPage } from "./render.ts";
import { ToolTester } from "./tool_tester.tsx";

/** What {@link renderAgentEditor} shows: the form's values, the running version, problems. */
export interface AgentEditorState {
  /** The agent's name (its folder under the agents directory). */
  name: string;
  form: ProfileForm;
  /** The version the agent runs now (0 = the shipped files). */
  version: number;
  /** Problems by form field; `general` for those of no one field. */
  problems?: Record<string, string[]>;
  notice?: string | null;
  /** 422 when the form is shown again with its problems; 409 when a delete was refused. */
  status?: 200 | 409 | 422;
}

/** The agent's page as it is now, with why an action on it was refused (`status`). */
export async function renderAgentRefusal(
  c: Context,
  services: Services,
  refusal: { name: string; problems: string[]; status: 409 | 422 },
): Promise<Response> {
  // Refused because it is gone (deleted meanwhile, here or on another instance): say so.
  const current = await services.profiles.files(refusal.name);
  if (!current) return agentNotFound(c, refusal.name);
  return await renderAgentEditor(c, services, {
    name: refusal.name,
    form: formFromFiles(current.files),
    version: current.version,
    problems: { general: refusal.problems },
    status: refusal.status,
  });
}

/**
 * The editor page for `state.name`, with its newest versions: one renderer for showing, saving
 * and restoring, so a failed save or restore shows the same page with its problems.
 */
export async function renderAgentEditor(
  c: Context,
  services: Services,
  state: AgentEditorState,
): Promise<Response> {
  const { name, form } = state;
  const versions = await services.profiles.versions(name, 50);
  const status = await services.profiles.status(name);
  const dir = services.config.agentsDir;
  const running = await services.profiles.versionFiles(name, status.version);
  const files = await services.profiles.versionFiles(name, SHIPPED_VERSION);
  const differs = status.source === "edit" && running && files && filesDiffer(running, files);
  const problems = state.problems ?? {};
  // A disabled agent (its profile has problems) has no tools to try until it is fixed.
  const runningProfile = await services.profiles.load(name);
  const testable = runningProfile ? services.toolSets.for(runningProfile).declarations() : [];
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
      <AgentSource status={status} dir={`${dir}/${name}`} />
      <p class="muted">
        Saving makes a new version; the next call on any instance uses it.{" "}
        <a href={`/agents/${name}/export/${status.version}`} data-action="export">
          Export to files
        </a>{" "}
        (a zip of agent.json, instructions.md and tools.json, to commit). Try it in the simulator:
        {" "}
        <a href={`/simulator?mode=voice&agent=${encodeURIComponent(name)}&autostart=1`}>
          a voice call
        </a>{" "}
        (speech to speech, with your microphone) or <a href="/simulator">by typing</a>. Or run its
        {" "}
        <a href={`/agents/${name}/scenarios`} data-action="scenarios">scenarios</a>.
      </p>
      {state.notice ? <p class="notice">{state.notice}</p> : null}
      <AgentProblems status={status} />
      <AgentWarnings warnings={status.profile ? profileWarnings(status.profile, dir) : []} />
      <AgentLifecycle name={name} shipped={services.profiles.isShipped(name)} />
      {status.source === "edit" && services.profiles.isShipped(name)
        ? (
          <section
            class={status.filesChanged ? "warning" : undefined}
            data-files-changed={String(status.filesChanged)}
          >
            <strong>
              {status.filesChanged
                ? "The files changed since this edit was saved: the changes are ignored while " +
                  "the edit runs."
                : "The files are ignored while this edit runs."}
            </strong>
            <FollowButton name={name} />
            <p class="hint">{FILES_NOTE}</p>
            {differs
              ? (
                <details open={status.filesChanged}>
                  <summary>{`Difference from v${status.version} (running) to the files`}</summary>
                  <DiffView diffs={profileDiff(running, files)} />
                </details>
              )
              : <p class="muted">The running edit and the files are the same.</p>}
          </section>
        )
        : null}
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
        <h2>Model</h2>
        <div class="grid2">
          {field("model", "Model (relay)", "e.g. gpt-4.1-mini; empty = OPENAI_MODEL.")}
          {choice("api", "API (relay)", "Chat Completions or Responses; default = OPENAI_API.", [
            "chat",
            "responses",
          ])}
          {field(
            "realtimeModel",
            "Model (realtime)",
            "e.g. gpt-realtime; empty = OPENAI_REALTIME_MODEL.",
          )}
          {field(
            "temperature",
            "Temperature (relay)",
            "0–2; empty = the API's default. Not for reasoning models; Realtime has none.",
          )}
          {field(
            "maxOutputTokens",
            "Max output tokens",
            "16–4096 or inf; empty = the model's maximum.",
          )}
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
        <h2>After the call</h2>
        {field(
          "analysisJson",
          "Analysis",
          'JSON: {"summary": "…", "outcomes": [{"label": "booked", "description": "…"}], ' +
            '"fields": {JSON Schema}}; empty = none.',
          "textarea",
        )}
        <div class="grid2">
          {field("webhookUrl", "Webhook URL", "End-of-call webhook; empty = CALL_WEBHOOK_URL.")}
          {choice("record", "Record calls", "Twilio records both channels.")}
        </div>
        <button type="submit">Save as a new version</button>{" "}
        <button
          type="submit"
          class="secondary"
          formaction={`/agents/${name}/scenarios/run`}
          name="edit"
          value="1"
          data-action="run-edit"
        >
          Run the scenarios on this edit
        </button>
      </form>
      <ToolTester name={name} tools={testable} />
      <section>
        <h2>Versions</h2>
        <table class="versions">
          <thead>
            <tr>
              <th>Version</th>
              <th>Saved (UTC)</th>
              <th>Note</th>
              <th></th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <VersionRow key={v.version} name={name} v={v} current={state.version} />
            ))}
            {services.profiles.isShipped(name)
              ? (
                <tr data-version="0">
                  <td>
                    <a href={`/agents/${name}/versions/0`}>the files</a>
                  </td>
                  <td>—</td>
                  <td>{`${services.config.agentsDir}/${name}, as this instance read them`}</td>
                  <td>
                    <a href={`/agents/${name}/diff?from=${status.version}&to=0`}>
                      diff with running
                    </a>
                  </td>
                  <td>{status.source === "files" ? null : <FollowButton name={name} />}</td>
                </tr>
              )
              : null}
          </tbody>
        </table>
      </section>
    </Layout>,
    state.status ?? 200,
  );
}

/** A shipped agent can follow its files again, not be deleted; a created one can be deleted. */
function AgentLifecycle({ name, shipped }: { name: string; shipped: boolean }) {
  if (shipped) {
    return (
      <p class="hint" data-lifecycle="shipped">
        Ships with the service: it can be reset to its files ("Follow the files"), not deleted.
      </p>
    );
  }
  return (
    <section data-lifecycle="created">
      <p class="hint">
        Created from these pages: it has no files, only its versions in KV. Deleting it is refused
        while a number's voice webhook or a pending outbound call uses it.
      </p>
      <form method="post" action={`/agents/${name}/delete`}>
        <button type="submit" class="danger" data-action="delete">Delete agent</button>
      </form>
    </section>
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
        {v.createdFrom
          ? `created from ${v.createdFrom.replace(":", " ")}`
          : v.followsFiles
          ? "follows the files"
          : v.restoredFrom === null
          ? "edited"
          : `restored from ${v.restoredFrom === 0 ? "the shipped files" : `v${v.restoredFrom}`}`}
      </td>
      <td>
        {v.version > 1
          ? <a href={`/agents/${name}/diff?from=${v.version - 1}&to=${v.version}`}>diff</a>
          : null} <a href={`/agents/${name}/export/${v.version}`}>export</a>
      </td>
      <td>{v.version === current ? null : <RestoreButton name={name} version={v.version} />}</td>
    </tr>
  );
}

/** A form that restores `version` of agent `name` (saves it again as the newest). */
export function RestoreButton({ name, version }: { name: string; version: number }) {
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

/** The files of the version named by the route's `:name` and `:version`, or its 404 page. */
export async function versionOr404(
  services: Services,
  c: Context,
): Promise<{ name: string; version: number; files: ProfileFiles } | Response> {
  const name = c.req.param("name") ?? "";
  const version = Number(c.req.param("version"));
  const files = Number.isInteger(version)
    ? await services.profiles.versionFiles(name, version)
    : null;
  if (!files) return agentNotFound(c, `${name} version ${c.req.param("version")}`);
  return { name, version, files };
}

/** The 404 page of an agent (or an agent's version) named `what`. */
export function agentNotFound(c: Context, what: string): Response {
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
