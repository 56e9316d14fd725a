// The mcpflow console: signs in with an API key or a JWT, reads the tenant's state over the REST
// API, keeps it live over the WebSocket API, and renders one view at a time from the URL's hash.

import { Api, ApiFailure } from "./api";
import { barChart } from "./charts";
import { drawDag } from "./dag";
import { ago, h, span, table } from "./dom";
import { Live, type LiveEvent, type LiveState, MAX_TOPICS } from "./live";
import type { Agent, Context, Execution, LogLine, Pipeline, Progress, Task } from "./model";

/** `config.json` beside the page: the HTTP API's base URL ("" for the page's own origin), and the
 * WebSocket API's URL, or its port on the page's host (the local gateway serves it on a port of its own). */
interface Config {
  api_url: string;
  ws_url: string;
  ws_port?: number;
}

/** `GET /api/v1/metrics`: the tenant's own figures over the last hour, as the functions recorded them. */
interface Performance {
  from?: string;
  functions?: { function: string; invocations: number; errors: number; client_errors: number; p50_ms: number | null; p95_ms: number | null }[];
  tasks?: Record<string, { count: number }>;
  tasks_finished_per_minute?: number;
  /** Admins only: the system's queues now. */
  queues?: { queue: string; waiting: number; in_flight: number; delayed: number }[];
}

/** `GET /api/v1/summary`: the tenant's counts and the system's health. */
interface Summary {
  contexts: number;
  tasks: { counts_by_status: Record<string, number>; completion_rate: number | null; tasks_created: number };
  registered: { tools: number; prompts: number; resources: number };
  pipelines: number;
  agents: { total: number; active: number; stale: number; inactive: number };
  health: { status: string; dependencies: { name: string; status: string; latency_ms: number }[] };
}

/** Pipelines whose executions are pushed live (the rest are read when opened). */
const LIVE_PIPELINES = 80;
/** Newest contexts whose tasks are pushed live. */
const LIVE_CONTEXTS = 15;

/** Everything the console holds of a tenant: made afresh at each sign-in, dropped at sign-out. */
function emptyState() {
  return {
    agents: new Map<string, Agent>(),
    pipelines: new Map<string, Pipeline>(),
    executions: new Map<string, Execution>(),
    tasks: [] as Task[],
    contexts: [] as Context[],
    stageLogs: new Map<string, LogLine[]>(),
    summary: null as Summary | null,
    performance: null as Performance | null,
    notice: "" as string,
    liveState: "closed" as LiveState,
  };
}

let state = emptyState();
/** Where the APIs are (config.json), read once at start. */
let cfg: Config = { api_url: "", ws_url: "" };

let api: Api | null = null;
let live: Live | null = null;
const root = document.getElementById("app") as HTMLElement;
/** Forms keep what was typed across re-renders: each is built once per sign-in and moved, not rebuilt. */
const forms = new Map<string, HTMLElement>();

// ---------------------------------------------------------------- signing in

async function config(): Promise<Config> {
  const fallback = { api_url: location.origin, ws_url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1` };
  try {
    const answer = await fetch("config.json", { cache: "no-store" });
    if (!answer.ok) return fallback;
    const given = (await answer.json()) as Partial<Config>;
    const ws = given.ws_url ?? (given.ws_port ? `ws://${location.hostname}:${given.ws_port}/v1` : fallback.ws_url);
    return { api_url: given.api_url ?? fallback.api_url, ws_url: ws };
  } catch {
    return fallback;
  }
}

async function signIn(token: string, where: Config): Promise<void> {
  const candidate = new Api(where.api_url.replace(/\/$/, ""), token);
  // A read every role may make: it proves the credential before anything is shown.
  await candidate.get<{ agents: Agent[] }>("/api/v1/agents");
  state = emptyState();
  api = candidate;
  sessionStorage.setItem("mcpflow.token", token);
  live = new Live(where.ws_url, token, onEvent, (s, reconnected) => {
    state.liveState = s;
    if (reconnected) void loadAll();
    if (s === "live") void subscribeAll();
    renderStatus();
  });
  live.start();
  await loadAll();
  if (!location.hash) location.hash = "#/summary";
  render();
}

function signOut(): void {
  live?.stop();
  live = null;
  api = null;
  forms.clear();
  rereads.forEach((timer) => window.clearTimeout(timer));
  rereads.clear();
  sessionStorage.removeItem("mcpflow.token");
  state = emptyState();
  location.hash = "";
  render();
}

function signInView(cfg: Config, failure = ""): HTMLElement {
  const token = h("input", { id: "token", type: "password", autocomplete: "off", placeholder: "mcpf_… or a JWT", "data-testid": "token", required: true }) as HTMLInputElement;
  const error = h("p", { class: "error", "data-testid": "sign-in-error" }, failure);
  const form = h(
    "form",
    {
      class: "sign-in",
      onsubmit: (e: Event) => {
        e.preventDefault();
        error.textContent = "";
        signIn(token.value.trim(), cfg).catch((err: unknown) => {
          error.textContent = err instanceof ApiFailure ? err.describe() : String(err);
        });
      },
    },
    h("h1", {}, "mcpflow"),
    h("label", { for: "token" }, "API key or JWT"),
    token,
    h("button", { type: "submit", "data-testid": "sign-in" }, "Sign in"),
    h("p", { class: "muted" }, `API ${cfg.api_url || location.origin} · WebSocket ${cfg.ws_url}. The credential is kept in this tab only (sessionStorage).`),
    error,
  );
  return form;
}

// ---------------------------------------------------------------- reading and keeping live

function report(err: unknown): void {
  state.notice = err instanceof ApiFailure ? err.describe() : String(err instanceof Error ? err.message : err);
  renderStatus();
}

async function loadAll(): Promise<void> {
  if (!api) return;
  const a = api;
  const [agents, pipelines, tasks, contexts] = await Promise.allSettled([
    a.get<{ agents: Agent[] }>("/api/v1/agents"),
    a.get<{ pipelines: Pipeline[] }>("/api/v1/pipelines"),
    a.get<{ tasks: Task[] }>("/api/v1/mcp/tasks?limit=50"),
    a.get<{ contexts: Context[] }>("/api/v1/mcp/contexts?limit=50"),
    refreshPerformance(),
  ]);
  if (agents.status === "fulfilled") {
    state.agents = new Map(agents.value.agents.map((x) => [x.agent_id, x]));
  }
  if (pipelines.status === "fulfilled") {
    state.pipelines = new Map(pipelines.value.pipelines.map((p) => [p.pipeline_id, p]));
  }
  if (tasks.status === "fulfilled") state.tasks = tasks.value.tasks;
  if (contexts.status === "fulfilled") state.contexts = contexts.value.contexts;
  const failed = [agents, pipelines, tasks, contexts].find((r) => r.status === "rejected");
  if (failed && failed.status === "rejected") report(failed.reason);
  await Promise.allSettled([...state.pipelines.keys()].map((id) => loadExecutions(id)));
  void subscribeAll();
  render();
}

/** Tasks and contexts are read afresh whenever their view opens, then kept live by their topics. */
async function loadTasksAndContexts(): Promise<void> {
  if (!api) return;
  const [tasks, contexts] = await Promise.all([
    api.get<{ tasks: Task[] }>("/api/v1/mcp/tasks?limit=50"),
    api.get<{ contexts: Context[] }>("/api/v1/mcp/contexts?limit=50"),
  ]);
  state.tasks = tasks.tasks;
  state.contexts = contexts.contexts;
  void subscribeAll();
  schedule();
}

async function loadExecutions(pipelineId: string): Promise<void> {
  if (!api) return;
  const page = await api.get<{ executions: Execution[] }>(`/api/v1/pipelines/${pipelineId}/executions?limit=20`);
  for (const e of page.executions) state.executions.set(e.execution_id, e);
}

async function subscribeAll(): Promise<void> {
  if (!live || live.state !== "live") return;
  const topics = ["agents"];
  topics.push(...[...state.pipelines.keys()].slice(0, LIVE_PIPELINES).map((id) => `pipeline:${id}`));
  topics.push(...state.contexts.slice(0, LIVE_CONTEXTS).map((c) => `context:${c.context_id}`));
  const running = state.tasks.filter((t) => !["completed", "failed", "cancelled"].includes(t.status));
  topics.push(...running.map((t) => `task:${t.task_id}`));
  const taken = await live.subscribe(topics.slice(0, MAX_TOPICS)).catch((err: unknown) => {
    report(err);
    return [] as string[];
  });
  // An agent that registered between the first read and this subscription was pushed to no one:
  // once the topic is taken, the list is read again.
  if (taken.includes("agents") && api) {
    const page = await api.get<{ agents: Agent[] }>("/api/v1/agents").catch((err: unknown) => {
      report(err);
      return { agents: [] as Agent[] };
    });
    for (const agent of page.agents) state.agents.set(agent.agent_id, agent);
    schedule();
  }
}

/** Executions re-read shortly after their events (the event carries states; the record timings). */
const rereads = new Map<string, number>();

function reread(pipelineId: string, executionId: string): void {
  window.clearTimeout(rereads.get(executionId));
  rereads.set(
    executionId,
    window.setTimeout(() => {
      rereads.delete(executionId);
      api
        ?.get<Execution>(`/api/v1/pipelines/${pipelineId}/executions/${executionId}`)
        .then((e) => {
          state.executions.set(e.execution_id, e);
          if (route().execution === executionId) void loadLogs(e);
          schedule();
        })
        .catch(report);
    }, 250),
  );
}

async function loadLogs(execution: Execution): Promise<void> {
  if (!api) return;
  const a = api;
  await Promise.allSettled(
    execution.stages
      .filter((st) => st.task_id)
      .map(async (st) => {
        const task = await a.get<Task>(`/api/v1/tasks/${st.task_id}`);
        state.stageLogs.set(st.task_id as string, task.logs ?? []);
      }),
  );
  schedule();
}

function onEvent(event: LiveEvent): void {
  if (event.event_type === "agent_update") {
    const agent = event.data as unknown as Agent;
    if (agent.change === "deleted") state.agents.delete(agent.agent_id);
    else state.agents.set(agent.agent_id, agent);
  } else if (event.event_type === "pipeline_progress") {
    const p = event.data as unknown as Progress;
    const known = state.executions.get(p.execution_id);
    if (known) {
      known.status = p.status;
      known.progress = p.progress;
      known.error = p.error;
      const stage = p.stage ? known.stages[p.stage.index] : undefined;
      if (stage && p.stage) {
        stage.status = p.stage.status;
        stage.attempts = p.stage.attempts;
        stage.agent_id = p.stage.agent_id;
        stage.task_id = p.stage.task_id;
        stage.error = p.stage.error;
      }
    }
    reread(p.pipeline_id, p.execution_id);
  } else if (event.event_type === "task_update") {
    const task = event.data as unknown as Task;
    const i = state.tasks.findIndex((t) => t.task_id === task.task_id);
    if (i >= 0) state.tasks[i] = task;
    else if (task.type !== "pipeline.stage") state.tasks.unshift(task);
  }
  schedule();
}

// ---------------------------------------------------------------- acting

async function act<T>(button: HTMLButtonElement, out: HTMLElement, work: () => Promise<T>, done: (t: T) => void): Promise<void> {
  button.disabled = true;
  out.textContent = "";
  out.className = "outcome";
  try {
    done(await work());
  } catch (err) {
    out.className = "outcome error";
    out.textContent = err instanceof ApiFailure ? err.describe() : String(err);
  } finally {
    button.disabled = false;
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not JSON: ${(e as Error).message}`);
  }
}

const BRIEF_PIPELINE = {
  name: "techdeck",
  description: "The brief's six stages, one per reference agent",
  stages: [
    { name: "data-ingestion", type: "data-ingestion", required: true, timeout: 300 },
    { name: "data-transformation", type: "transformation", required: true, timeout: 300 },
    { name: "data-analysis", type: "analysis", required: true, timeout: 300 },
    { name: "data-validation", type: "validation", required: true, timeout: 300 },
    { name: "data-processing", type: "processing", required: true, timeout: 300 },
    { name: "output-generation", type: "output", required: true, timeout: 300 },
  ],
  dependencies: [
    { from: 0, to: 1 },
    { from: 1, to: 2 },
    { from: 2, to: 3 },
    { from: 3, to: 4 },
    { from: 4, to: 5 },
  ],
};

function registerForm(): HTMLElement {
  const cached = forms.get("register");
  if (cached) return cached;
  const text = h("textarea", { rows: 12, "data-testid": "pipeline-json", spellcheck: "false" }) as HTMLTextAreaElement;
  text.value = JSON.stringify(BRIEF_PIPELINE, null, 2);
  const out = h("p", { class: "outcome", "data-testid": "register-outcome" });
  const button = h("button", { type: "submit", "data-testid": "register" }, "Register pipeline") as HTMLButtonElement;
  const form = h(
    "form",
    {
      class: "card",
      onsubmit: (e: Event) => {
        e.preventDefault();
        void act(
          button,
          out,
          async () => api!.post<Pipeline>("/api/v1/pipelines", parseJson(text.value, "the definition")),
          (p) => {
            state.pipelines.set(p.pipeline_id, p);
            void live?.subscribe([`pipeline:${p.pipeline_id}`]);
            location.hash = `#/pipelines/${p.pipeline_id}`;
          },
        );
      },
    },
    h("h3", {}, "Register a pipeline"),
    h("p", { class: "muted" }, "The definition as POST /api/v1/pipelines takes it: stages and their dependencies."),
    text,
    button,
    out,
  );
  forms.set("register", form);
  return form;
}

function startForm(pipelineId: string): HTMLElement {
  const key = `start:${pipelineId}`;
  const cached = forms.get(key);
  if (cached) return cached;
  const input = h("textarea", { rows: 5, "data-testid": "input-json", spellcheck: "false" }) as HTMLTextAreaElement;
  input.value = JSON.stringify({ source: "inline", records: [{ name: "ada", qty: 2 }, { name: "bob", qty: 3 }] }, null, 2);
  const out = h("p", { class: "outcome", "data-testid": "start-outcome" });
  const button = h("button", { type: "submit", "data-testid": "start" }, "Start execution") as HTMLButtonElement;
  const form = h(
    "form",
    {
      class: "card",
      onsubmit: (e: Event) => {
        e.preventDefault();
        void act(
          button,
          out,
          async () =>
            api!.post<Execution>(`/api/v1/pipelines/${pipelineId}/execute`, { input_data: parseJson(input.value, "the input") }),
          (x) => {
            state.executions.set(x.execution_id, x);
            location.hash = `#/pipelines/${pipelineId}/executions/${x.execution_id}`;
          },
        );
      },
    },
    h("h3", {}, "Start an execution"),
    h("label", {}, "input_data"),
    input,
    button,
    out,
  );
  forms.set(key, form);
  return form;
}

function cancelButton(execution: Execution): HTMLElement {
  const out = h("span", { class: "outcome" });
  const button = h("button", { class: "danger", "data-testid": "cancel" }, "Cancel execution") as HTMLButtonElement;
  button.addEventListener("click", () => {
    void act(
      button,
      out,
      async () => api!.post<Execution>(`/api/v1/pipelines/${execution.pipeline_id}/executions/${execution.execution_id}/cancel`, {}),
      (x) => {
        state.executions.set(x.execution_id, x);
        schedule();
      },
    );
  });
  return h("div", { class: "actions" }, button, out);
}

// ---------------------------------------------------------------- views

interface Route {
  view: string;
  pipeline?: string;
  execution?: string;
}

function route(): Route {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "pipelines" && parts[1]) {
    return parts[2] === "executions" && parts[3]
      ? { view: "execution", pipeline: parts[1], execution: parts[3] }
      : { view: "pipeline", pipeline: parts[1] };
  }
  return { view: parts[0] ?? "summary" };
}

function badge(status: string): HTMLElement {
  return h("span", { class: `badge ${status}`, "data-status": status }, status);
}

function summaryView(): HTMLElement {
  const executions = [...state.executions.values()];
  const byStatus = (s: string) => executions.filter((e) => e.status === s).length;
  const sum = state.summary;
  const stats = sum?.tasks;
  const cards = h(
    "div",
    { class: "cards", "data-testid": "summary-cards" },
    card("Agents", sum ? `${sum.agents.active} active` : "—", sum ? `${sum.agents.stale} stale · ${sum.agents.inactive} inactive` : ""),
    card("Pipelines", String(sum?.pipelines ?? "—"), `${byStatus("running")} executions running`),
    card("Executions", `${byStatus("succeeded")} succeeded`, `${byStatus("failed")} failed · ${byStatus("cancelled")} cancelled (latest 20 a pipeline)`),
    card(
      "Tasks",
      String(stats?.tasks_created ?? "—"),
      stats ? `${stats.counts_by_status["completed"] ?? 0} completed · completion rate ${stats.completion_rate === null ? "—" : `${Math.round(stats.completion_rate * 100)} %`}` : "",
    ),
    card("Contexts", String(sum?.contexts ?? "—"), sum ? `${sum.registered.tools} tools · ${sum.registered.prompts} prompts · ${sum.registered.resources} resources` : ""),
    card("Health", sum?.health.status ?? "—", sum ? `${sum.health.dependencies.filter((d) => d.status !== "ok").length} dependencies not ok` : ""),
  );
  const charts = h("div", { class: "charts" });
  if (stats) {
    charts.append(
      barChart("Tasks by status", Object.entries(stats.counts_by_status).map(([label, value]) => ({ label, value, class: label })), "", "chart-tasks"),
    );
  }
  const perf = state.performance;
  if (perf?.functions) {
    const rows = [...perf.functions].sort((a, b) => b.invocations - a.invocations).slice(0, 12);
    charts.append(
      barChart("Invocations, last hour (errors in red)", rows.map((f) => ({ label: f.function, value: f.invocations, over: f.errors + f.client_errors })), "", "chart-invocations"),
    );
    charts.append(
      barChart("Latency p50 / p95 (ms), last hour", rows.map((f) => ({ label: f.function, value: f.p50_ms ?? 0, behind: f.p95_ms ?? 0 })), "ms", "chart-latency"),
    );
    if (perf.queues) {
      charts.append(barChart("Queues now: waiting / in flight", perf.queues.map((q) => ({ label: q.queue, value: q.waiting, behind: q.in_flight })), "", "chart-queues"));
    }
  } else {
    charts.append(h("p", { class: "muted" }, "Reading the metrics…"));
  }
  const health = sum
    ? table(["dependency", "status", "latency"], sum.health.dependencies.map((d) => [d.name, badge(d.status), `${d.latency_ms} ms`]), "health")
    : null;
  return h("section", { "data-testid": "view-summary" }, h("h2", {}, "Summary"), cards, charts, h("h3", {}, "Dependencies"), health);
}

function card(title: string, big: string, small: string): HTMLElement {
  return h(
    "div",
    { class: "card stat", "data-card": title.toLowerCase() },
    h("div", { class: "muted" }, title),
    h("div", { class: "big" }, big),
    h("div", { class: "muted" }, small),
  );
}

function agentsView(): HTMLElement {
  const agents = [...state.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
  const rows = agents.map((a) => [
    h("span", { "data-agent": a.name }, a.name),
    a.type,
    a.capabilities.join(", "),
    badge(a.status),
    a.reported_status,
    h("meter", { min: 0, max: 1, value: a.current_load, title: `${Math.round(a.current_load * 100)} %` }),
    ago(a.last_heartbeat),
  ]);
  return h(
    "section",
    { "data-testid": "view-agents" },
    h("h2", {}, `Agents (${agents.length})`),
    agents.length ? table(["name", "type", "capabilities", "status", "reported", "load", "last heartbeat"], rows, "agents") : h("p", { class: "muted" }, "No agents yet: run `make agents`."),
  );
}

function pipelinesView(): HTMLElement {
  const pipelines = [...state.pipelines.values()];
  const rows = pipelines.map((p) => {
    const runs = [...state.executions.values()].filter((e) => e.pipeline_id === p.pipeline_id);
    const latest = runs.sort((a, b) => b.execution_id.localeCompare(a.execution_id))[0];
    return [h("a", { href: `#/pipelines/${p.pipeline_id}`, "data-pipeline": p.name }, p.name), String(p.stages.length), latest ? badge(latest.status) : "—", ago(p.created_at)];
  });
  return h(
    "section",
    { "data-testid": "view-pipelines" },
    h("h2", {}, `Pipelines (${pipelines.length})`),
    pipelines.length ? table(["name", "stages", "latest execution", "defined"], rows, "pipelines") : h("p", { class: "muted" }, "No pipelines yet."),
    registerForm(),
  );
}

function executionRows(executions: Execution[]): HTMLElement {
  const rows = executions.map((e) => [
    h("a", { href: `#/pipelines/${e.pipeline_id}/executions/${e.execution_id}`, "data-execution": e.execution_id }, e.execution_id),
    badge(e.status),
    h("progress", { max: 1, value: e.progress }),
    `${Math.round(e.progress * 100)} %`,
    span(e.created_at, e.finished_at),
    ago(e.created_at),
  ]);
  return table(["execution", "status", "progress", "", "duration", "started"], rows, "executions");
}

function pipelineView(id: string): HTMLElement {
  const p = state.pipelines.get(id);
  if (!p) return h("section", {}, h("h2", {}, "Pipeline not found"), h("p", {}, id));
  const executions = [...state.executions.values()].filter((e) => e.pipeline_id === id).sort((a, b) => b.execution_id.localeCompare(a.execution_id));
  return h(
    "section",
    { "data-testid": "view-pipeline" },
    h("h2", {}, p.name, " ", h("small", { class: "muted" }, p.pipeline_id)),
    p.description ? h("p", {}, p.description) : null,
    drawDag(p.stages.map((st) => ({ name: st.name, type: st.type, depends_on: st.depends_on })), "pipeline-dag"),
    startForm(id),
    h("h3", {}, `Executions (${executions.length})`),
    executions.length ? executionRows(executions) : h("p", { class: "muted" }, "Not run yet."),
  );
}

function executionView(pipelineId: string, id: string): HTMLElement {
  const e = state.executions.get(id);
  if (!e) {
    reread(pipelineId, id);
    return h("section", {}, h("h2", {}, "Execution"), h("p", { class: "muted" }, "reading…"));
  }
  const dag = drawDag(
    e.stages.map((st) => ({
      name: st.name,
      type: st.type,
      depends_on: st.depends_on,
      status: st.status,
      detail: st.started_at ? span(st.started_at, st.finished_at) : "",
    })),
    "execution-dag",
  );
  const rows = e.stages.map((st) => [
    st.name,
    badge(st.status),
    String(st.attempts),
    st.agent_id ? state.agents.get(st.agent_id)?.name ?? st.agent_id : "—",
    st.started_at ? new Date(st.started_at).toLocaleTimeString() : "—",
    span(st.started_at, st.finished_at),
    st.error ?? "",
  ]);
  const logs = h(
    "div",
    { class: "logs", "data-testid": "stage-logs" },
    ...e.stages
      .filter((st) => st.task_id && (state.stageLogs.get(st.task_id)?.length ?? 0) > 0)
      .map((st) =>
        h(
          "details",
          { open: e.stages.length <= 6 },
          h("summary", {}, `${st.name}`),
          h("pre", {}, (state.stageLogs.get(st.task_id as string) ?? []).map((l) => `${l.timestamp} ${l.level.toUpperCase().padEnd(5)} ${l.message}`).join("\n")),
        ),
      ),
  );
  return h(
    "section",
    { "data-testid": "view-execution", "data-status": e.status },
    h("h2", {}, h("a", { href: `#/pipelines/${e.pipeline_id}` }, e.pipeline_name), " / ", e.execution_id),
    h(
      "p",
      {},
      badge(e.status),
      " ",
      h("progress", { max: 1, value: e.progress }),
      ` ${Math.round(e.progress * 100)} % · ${span(e.created_at, e.finished_at)}`,
      e.error ? h("span", { class: "error" }, ` · ${e.error.stage}: ${e.error.message}`) : null,
    ),
    e.status === "running" ? cancelButton(e) : null,
    dag,
    table(["stage", "status", "attempts", "agent", "started", "took", "error"], rows, "stages"),
    h("h3", {}, "Stage logs"),
    logs.childElementCount ? logs : h("p", { class: "muted" }, "No stage has logged anything."),
  );
}

function tasksView(): HTMLElement {
  const rows = state.tasks.map((t) => [t.task_id, t.type, badge(t.status), t.model_id ?? t.stage ?? "", t.context_id ?? "", ago(t.created_at)]);
  return h(
    "section",
    { "data-testid": "view-tasks" },
    h("h2", {}, `Tasks (newest ${state.tasks.length})`),
    state.tasks.length ? table(["task", "type", "status", "model / stage", "context", "created"], rows, "tasks") : h("p", { class: "muted" }, "No tasks yet."),
  );
}

function contextsView(): HTMLElement {
  const rows = state.contexts.map((c) => [c.context_id, c.model_id ?? "", c.user_id ?? "", ago(c.created_at)]);
  return h(
    "section",
    { "data-testid": "view-contexts" },
    h("h2", {}, `Contexts (newest ${state.contexts.length})`),
    state.contexts.length ? table(["context", "model", "user", "created"], rows, "contexts") : h("p", { class: "muted" }, "No contexts yet."),
  );
}

// ---------------------------------------------------------------- rendering

const statusLine = h("div", { class: "status", "data-testid": "live-status" });

function renderStatus(): void {
  statusLine.replaceChildren(
    h(
      "span",
      {},
      h("span", { class: `dot ${state.liveState}`, "data-live": state.liveState }),
      ` ${state.liveState}`,
      live?.refusal ? h("span", { class: "error" }, ` · ${live.refusal}`) : null,
      state.notice ? h("span", { class: "error", "data-testid": "notice" }, ` · ${state.notice}`) : null,
    ),
  );
}

let scheduled = false;

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render();
  });
}

/** The header (its links and the live status) and the view's place, built once per sign-in and kept
 * across renders: a click on a link replaced by a render between its press and its release is lost. */
let shell: { links: Map<string, HTMLElement>; main: HTMLElement } | null = null;

function render(): void {
  if (!api) {
    root.replaceChildren(signInView(cfg));
    return;
  }
  const r = route();
  if (!shell || !root.contains(shell.main)) {
    const links = new Map(
      [
        ["summary", "Summary"],
        ["agents", "Agents"],
        ["pipelines", "Pipelines"],
        ["tasks", "Tasks"],
        ["contexts", "Contexts"],
      ].map(([id, label]) => [id, h("a", { href: `#/${id}`, "data-nav": id }, label)]),
    );
    const nav = h("nav", {}, ...links.values(), h("button", { class: "link", onclick: signOut, "data-testid": "sign-out" }, "Sign out"));
    const main = h("main", {});
    root.replaceChildren(h("header", {}, h("strong", {}, "mcpflow"), nav, statusLine), main);
    shell = { links, main };
  }
  for (const [id, link] of shell.links) {
    link.className = r.view === id || (id === "pipelines" && (r.view === "pipeline" || r.view === "execution")) ? "here" : "";
  }
  let view: HTMLElement;
  switch (r.view) {
    case "agents":
      view = agentsView();
      break;
    case "pipelines":
      view = pipelinesView();
      break;
    case "pipeline":
      view = pipelineView(r.pipeline as string);
      break;
    case "execution":
      view = executionView(r.pipeline as string, r.execution as string);
      break;
    case "tasks":
      view = tasksView();
      break;
    case "contexts":
      view = contextsView();
      break;
    default:
      view = summaryView();
  }
  renderStatus();
  shell.main.replaceChildren(view);
}

/** The summary's figures: the tenant's counts and health, and the last hour's metrics. */
async function refreshPerformance(): Promise<void> {
  if (!api) return;
  const [summary, metrics] = await Promise.allSettled([
    api.get<Summary>("/api/v1/summary"),
    api.get<Performance>("/api/v1/metrics?window=1h"),
  ]);
  if (summary.status === "fulfilled") state.summary = summary.value;
  else report(summary.reason);
  if (metrics.status === "fulfilled") state.performance = metrics.value;
  else report(metrics.reason);
  if (route().view === "summary") schedule();
}

window.addEventListener("hashchange", () => {
  state.notice = "";
  const r = route();
  if (r.view === "execution" && r.pipeline && r.execution) {
    const e = state.executions.get(r.execution);
    if (e) void loadLogs(e);
    else reread(r.pipeline, r.execution);
  }
  if (r.view === "summary") void refreshPerformance();
  if (r.view === "tasks" || r.view === "contexts") loadTasksAndContexts().catch(report);
  render();
});

// Agents' heartbeat ages and running durations move with the clock; the summary is read every 15 s.
window.setInterval(() => {
  if (api && ["agents", "execution"].includes(route().view)) schedule();
}, 1000);
window.setInterval(() => {
  if (api && route().view === "summary") void refreshPerformance();
}, 15_000);

void (async () => {
  cfg = await config();
  const saved = sessionStorage.getItem("mcpflow.token");
  if (saved) {
    try {
      await signIn(saved, cfg);
      return;
    } catch (err) {
      sessionStorage.removeItem("mcpflow.token");
      root.replaceChildren(signInView(cfg, err instanceof ApiFailure ? err.describe() : String(err)));
      return;
    }
  }
  root.replaceChildren(signInView(cfg));
})();
