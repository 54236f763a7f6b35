/**
 * The dashboard's browser code (no framework, no bundler): the orchestration list from
 * `/api/orchestrations`, a live progress bar per unfinished orchestration over its SSE stream
 * (EventSource), failed jobs with their (redacted) params and errors, a Retry button, and the recent
 * pipelines from `/api/pipelines` with their stages, each opening its orchestration. Data is only
 * ever inserted with `textContent`, never as HTML.
 *
 * The open orchestration shows its cost and trace, a grid of its jobs, charts of their timings, and
 * the job a cell click opens (./orchestration-view.ts), all kept live by the same stream's `job` events.
 *
 * Compiled on its own (./tsconfig.json: DOM lib, no Node types) to `dist/dashboard/browser/*.js`,
 * which the dashboard server serves under `/assets/` (module scripts, so their names stay local).
 */
import { JobCharts, type JobTiming } from './job-charts.js';
import { JobGrid } from './job-grid.js';
import { type JobEvent, type OrchestrationFacts, OrchestrationView } from './orchestration-view.js';

/** Status counts of an orchestration, as the JSON API sends them. */
interface Counts {
  pending: number;
  inProgress: number;
  completed: number;
  errored: number;
  cancelled: number;
}

/** The fields of an orchestration (`OrchestrationInfo` over JSON) this page reads. */
interface Info {
  id: string;
  jobName: string;
  status: string;
  total: number;
  counts: Counts;
  progress: number;
  epoch: number;
  /** ISO date string; ISO strings sort as the dates do. */
  createdAt: string;
  paused?: boolean;
  /** ISO date string of a delayed start. */
  startAt?: string | null;
  maxParallel?: number | null;
  admitted?: number | null;
  concurrencyKey?: string | null;
  cost?: OrchestrationFacts['cost'];
  traceId?: string | null;
}

/** A failed job (`DashboardFailure` over JSON). */
interface Failure {
  jobId: string;
  index: number;
  params: unknown;
  error: { code: string; message: string } | null;
  attempts: number;
  deadLettered: boolean;
}

/** One job name's line of `/api/metrics`. */
interface JobMetrics {
  jobName: string;
  dispatched: number;
  completed: number;
  failed: number;
  retried: number;
  queueDepth: number;
  running: number;
  durationMs: { p50: number; p90: number; p99: number } | null;
}

/** A pipeline's stage (`PipelineStageInfo` over JSON). */
interface Stage {
  name: string;
  job: string;
  status: string;
  orchestrationId: string;
  /** Whether the stage kicked its orchestration off (it started, and its params did not fail). */
  hasOrchestration: boolean;
  /** Its orchestration's counts at its end; null until then. */
  counts: Counts | null;
}

/** The fields of a pipeline (`PipelineInfo` over JSON) this page reads. */
interface Pipeline {
  pipelineId: string;
  name: string;
  status: string;
  epoch: number;
  currentStage: string;
  stages: Stage[];
  endReason: string | null;
  failedStage: string | null;
  error: string | null;
  /** ISO date string. */
  createdAt: string;
}

/** An orchestration's table row, its parts, its latest data and its open stream. */
interface Row {
  tr: HTMLTableRowElement;
  status: HTMLTableCellElement;
  bar: HTMLDivElement;
  fill: HTMLDivElement;
  count: HTMLSpanElement;
  failed: HTMLTableCellElement;
  info: Info;
  source: EventSource | null;
  /** Settles once its stream listens (at its first `status`), or at once when it has none. */
  ready: Promise<void>;
}

const ACTIVE = ['Pending', 'InProgress'];
const rows = new Map<string, Row>();
let selected: string | null = null;
let selectedPipeline: string | null = null;
let nextCursor: string | null = null;
let filters: { jobName?: string; status?: string } = {};

function $<T extends HTMLElement = HTMLElement>(selector: string): T {
  const node = document.querySelector<T>(selector);
  if (!node) throw new Error(`The page has no ${selector}.`);
  return node;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Partial<HTMLElementTagNameMap[K]>,
  children?: (Node | string)[],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children || []) node.append(child);
  return node;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function notice(message?: string): void {
  $('#notice').textContent = message || '';
}

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, init);
  const body = (await response.json()) as { error?: { code: string; message: string } };
  if (!response.ok) {
    throw new Error(body.error ? body.error.message + ' (' + body.error.code + ')' : response.statusText);
  }
  return body as T;
}

function terminal(counts: Counts): number {
  return counts.completed + counts.errored + counts.cancelled;
}

/** What holds jobs back, after the status: paused, a start to come, the maxParallel limit. */
function statusNote(info: Info): string {
  const notes: string[] = [];
  if (info.paused) notes.push('paused');
  if (info.startAt && new Date(info.startAt).getTime() > Date.now())
    notes.push('starts ' + new Date(info.startAt).toLocaleString());
  const waiting = info.total - (info.admitted ?? info.total);
  const slots = waiting > 0 ? ', ' + String(waiting) + ' waiting' : '';
  if (info.maxParallel)
    notes.push('≤' + String(info.maxParallel) + ' at once' + (info.concurrencyKey ? '' : slots));
  if (info.concurrencyKey) notes.push('key ' + info.concurrencyKey + slots);
  return notes.length === 0 ? '' : ' · ' + notes.join(' · ');
}

function renderRow(row: Row): void {
  const info = row.info;
  const percent = Math.floor(info.progress * 100);
  row.tr.dataset.status = info.status;
  row.status.textContent = info.status + statusNote(info);
  row.status.className = 'status status-' + info.status;
  row.bar.setAttribute('aria-valuenow', String(percent));
  row.fill.style.width = String(percent) + '%';
  row.fill.classList.toggle('failed', info.counts.errored > 0);
  row.count.textContent =
    ' ' + String(terminal(info.counts)) + '/' + String(info.total) + ' (' + String(percent) + '%)';
  row.failed.textContent = String(info.counts.errored);
  if (selected === info.id) renderSummary(info);
}

function upsert(info: Info): void {
  let row = rows.get(info.id);
  if (!row) {
    const status = el('td', { className: 'status' });
    const fill = el('div', { className: 'fill' });
    const bar = el('div', { className: 'bar' }, [fill]);
    bar.setAttribute('role', 'progressbar');
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', '100');
    bar.setAttribute('aria-label', 'progress of ' + info.id);
    const count = el('span', { className: 'count' });
    const failed = el('td', { className: 'failed' });
    const tr = el('tr', {}, [
      el('td', {}, [el('code', { textContent: info.id })]),
      el('td', { textContent: info.jobName }),
      status,
      el('td', {}, [bar, count]),
      failed,
      el('td', { textContent: new Date(info.createdAt).toLocaleString() }),
    ]);
    tr.dataset.id = info.id;
    tr.addEventListener('click', () => {
      select(info.id).catch((error: unknown) => notice(messageOf(error)));
    });
    row = { tr, status, bar, fill, count, failed, info, source: null, ready: Promise.resolve() };
    rows.set(info.id, row);
    const body = $<HTMLTableSectionElement>('#orchestrations tbody');
    const after = [...body.rows].find(
      (other) => (rows.get(other.dataset.id ?? '')?.info.createdAt ?? '') < info.createdAt,
    );
    body.insertBefore(tr, after || null);
  }
  // While a stream follows the row it is the fresher source; list data only fills the others.
  if (!row.source) row.info = info;
  renderRow(row);
  if (ACTIVE.includes(row.info.status)) follow(row);
}

function follow(row: Row): void {
  if (row.source) return;
  const source = new EventSource('/api/orchestrations/' + encodeURIComponent(row.info.id) + '/events');
  row.source = source;
  let listening: () => void = () => undefined;
  row.ready = new Promise<void>((resolve) => (listening = resolve));
  const apply = (event: MessageEvent<string>): void => {
    const data = JSON.parse(event.data) as Partial<Info>;
    row.info = Object.assign({}, row.info, data);
    renderRow(row);
    view.renderFacts(row.info);
  };
  source.addEventListener('status', (event: MessageEvent<string>) => {
    apply(event);
    listening();
  });
  source.addEventListener('progress', apply);
  source.addEventListener('job', (event: MessageEvent<string>) => {
    const job = JSON.parse(event.data) as JobEvent;
    if (view.id === row.info.id) view.applyJobEvent(job);
    if (selected === row.info.id && (job.status === 'Errored' || job.previousStatus === 'Errored')) {
      scheduleFailures();
    }
  });
  source.addEventListener('completed', (event: MessageEvent<string>) => {
    apply(event);
    listening();
    stop(row);
    if (selected === row.info.id)
      loadFailures(row.info.id).catch((error: unknown) => notice(messageOf(error)));
    // The stream is over: one more listing settles every cell, whatever its last events said.
    if (view.id === row.info.id) view.refresh().catch((error: unknown) => notice(messageOf(error)));
    loadMetrics().catch(() => undefined);
  });
  source.addEventListener('stream-error', (event: MessageEvent<string>) => {
    notice((JSON.parse(event.data) as { message: string }).message);
    listening();
    stop(row);
  });
}

function stop(row: Row): void {
  if (row.source) row.source.close();
  row.source = null;
  row.ready = Promise.resolve();
}

async function loadPage(cursor: string | null): Promise<void> {
  const params = new URLSearchParams({ limit: '25' });
  if (cursor) params.set('cursor', cursor);
  if (filters.jobName) params.set('jobName', filters.jobName);
  if (filters.status) params.set('status', filters.status);
  const page = await api<{ items: Info[]; nextCursor: string | null }>(
    '/api/orchestrations?' + params.toString(),
  );
  for (const info of page.items) upsert(info);
  // The periodic refresh reloads the first page; it must not forget a later page's cursor.
  if (cursor || rows.size <= page.items.length) nextCursor = page.nextCursor;
  $('#more').hidden = !nextCursor;
}

async function loadMetrics(): Promise<void> {
  const report = await api<{ jobs: Record<string, JobMetrics> }>('/api/metrics');
  const body = $('#metrics tbody');
  body.replaceChildren(
    ...Object.values(report.jobs).map((m) => {
      const d = m.durationMs;
      const ms = (value: number | undefined): string => (d ? String(value) + ' ms' : '-');
      return el(
        'tr',
        {},
        [
          m.jobName,
          m.dispatched,
          m.completed,
          m.failed,
          m.retried,
          m.queueDepth,
          m.running,
          ms(d?.p50),
          ms(d?.p90),
          ms(d?.p99),
        ].map((value) => el('td', { textContent: String(value) })),
      );
    }),
  );
}

function renderSummary(info: Info): void {
  const c = info.counts;
  $('#details-summary').textContent =
    info.jobName +
    ' · ' +
    info.status +
    ' · run ' +
    String(info.epoch) +
    ' · ' +
    String(c.completed) +
    ' completed, ' +
    String(c.errored) +
    ' errored, ' +
    String(c.cancelled) +
    ' cancelled, ' +
    String(c.inProgress) +
    ' running, ' +
    String(c.pending) +
    ' pending';
  $<HTMLButtonElement>('#retry').disabled = c.errored === 0;
}

let failuresTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleFailures(): void {
  clearTimeout(failuresTimer);
  failuresTimer = setTimeout(() => {
    if (selected !== null) loadFailures(selected).catch((error: unknown) => notice(messageOf(error)));
  }, 300);
}

async function loadFailures(id: string): Promise<void> {
  const failures = await api<Failure[]>('/api/orchestrations/' + encodeURIComponent(id) + '/failures');
  if (selected !== id) return;
  $('#no-failures').hidden = failures.length > 0;
  $('#failures tbody').replaceChildren(
    ...failures.map((job) => {
      const tr = el('tr', {}, [
        el('td', { textContent: String(job.index) }),
        el('td', {}, [el('code', { textContent: job.jobId })]),
        el('td', {
          className: 'error',
          textContent: job.error ? job.error.code + ': ' + job.error.message : '',
        }),
        el('td', { className: 'params', textContent: JSON.stringify(job.params, null, 1) }),
        el('td', { textContent: String(job.attempts) + (job.deadLettered ? ' (dead-lettered)' : '') }),
      ]);
      tr.dataset.jobId = job.jobId;
      return tr;
    }),
  );
}

async function select(id: string): Promise<void> {
  selected = id;
  for (const [other, row] of rows) row.tr.classList.toggle('selected', other === id);
  $('#details').hidden = false;
  $('#details-id').textContent = id;
  $('#retry-result').textContent = '';
  const row = rows.get(id);
  if (row) renderSummary(row.info);
  if (location.hash !== '#' + id) history.replaceState(null, '', '#' + id);
  await Promise.all([loadFailures(id), openView(id)]);
}

/** Loads the orchestration's panel: its console links and cost, then its jobs once its stream listens. */
async function openView(id: string): Promise<void> {
  const facts = await api<OrchestrationFacts>('/api/orchestrations/' + encodeURIComponent(id));
  if (selected !== id) return;
  await view.open(facts, rows.get(id)?.ready ?? Promise.resolve());
}

/** Opens an orchestration in the details view, loading its row first when the list does not show it. */
async function openOrchestration(id: string): Promise<void> {
  if (!rows.has(id)) upsert(await api<Info>('/api/orchestrations/' + encodeURIComponent(id)));
  await select(id);
}

function stageCounts(stage: Stage): string {
  const c = stage.counts;
  if (!c) return '-';
  const total = c.pending + c.inProgress + c.completed + c.errored + c.cancelled;
  return (
    String(total) +
    ' jobs: ' +
    String(c.completed) +
    ' ok, ' +
    String(c.errored) +
    ' failed' +
    (c.cancelled > 0 ? ', ' + String(c.cancelled) + ' cancelled' : '')
  );
}

/** A stage as a step: a button opening its orchestration when it has one (it started, params did not fail). */
function stageStep(stage: Stage): HTMLElement {
  const parts = [
    el('strong', { textContent: stage.name }),
    el('code', { textContent: stage.job }),
    el('span', { className: 'status status-' + stage.status, textContent: stage.status }),
    el('span', { className: 'counts', textContent: stageCounts(stage) }),
  ];
  if (!stage.hasOrchestration) {
    const step = el('div', { className: 'stage' }, parts);
    step.dataset.stage = stage.name;
    return step;
  }
  const step = el(
    'button',
    { type: 'button', className: 'stage', title: 'Open orchestration ' + stage.orchestrationId },
    parts,
  );
  step.dataset.stage = stage.name;
  step.dataset.orchestrationId = stage.orchestrationId;
  step.addEventListener('click', () => {
    openOrchestration(stage.orchestrationId)
      .then(() => $('#details').scrollIntoView({ block: 'nearest' }))
      .catch((error: unknown) => notice(messageOf(error)));
  });
  return step;
}

function renderStages(info: Pipeline): void {
  if (selectedPipeline !== info.pipelineId) return;
  $('#pipeline-details').hidden = false;
  $('#pipeline-id').textContent = info.pipelineId;
  $('#pipeline-summary').textContent =
    info.name + ' · ' + info.status + ' · run ' + String(info.epoch) + (info.error ? ' · ' + info.error : '');
  $('#stages').replaceChildren(...info.stages.map((stage) => el('li', {}, [stageStep(stage)])));
}

function pipelineRow(info: Pipeline): HTMLTableRowElement {
  const tr = el('tr', {}, [
    el('td', {}, [el('code', { textContent: info.pipelineId })]),
    el('td', { textContent: info.name }),
    el('td', { className: 'status status-' + info.status, textContent: info.status }),
    el('td', { textContent: info.currentStage }),
    el('td', { textContent: new Date(info.createdAt).toLocaleString() }),
  ]);
  tr.dataset.pipelineId = info.pipelineId;
  tr.dataset.status = info.status;
  tr.classList.toggle('selected', info.pipelineId === selectedPipeline);
  tr.addEventListener('click', () => {
    selectPipeline(info.pipelineId).catch((error: unknown) => notice(messageOf(error)));
  });
  return tr;
}

async function loadPipelines(): Promise<void> {
  const { items } = await api<{ items: Pipeline[] }>('/api/pipelines?limit=25');
  $('#pipelines tbody').replaceChildren(...items.map(pipelineRow));
  $('#no-pipelines').hidden = items.length > 0;
  const shown = items.find((info) => info.pipelineId === selectedPipeline);
  if (shown) renderStages(shown);
}

async function selectPipeline(id: string): Promise<void> {
  selectedPipeline = id;
  for (const tr of $<HTMLTableSectionElement>('#pipelines tbody').rows) {
    tr.classList.toggle('selected', tr.dataset.pipelineId === id);
  }
  renderStages(await api<Pipeline>('/api/pipelines/' + encodeURIComponent(id)));
}

async function retry(): Promise<void> {
  const id = selected;
  if (!id) return;
  const button = $<HTMLButtonElement>('#retry');
  button.disabled = true;
  try {
    const result = await api<{ jobIds: string[]; epoch: number }>(
      '/api/orchestrations/' + encodeURIComponent(id) + '/retry',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-e11-dashboard': '1' },
        body: '{}',
      },
    );
    $('#retry-result').textContent =
      'Retrying ' + String(result.jobIds.length) + ' job(s) in run ' + String(result.epoch) + '.';
    const info = await api<Info>('/api/orchestrations/' + encodeURIComponent(id));
    upsert(info);
    await Promise.all([loadFailures(id), openView(id)]);
  } catch (error) {
    $('#retry-result').textContent = messageOf(error);
    button.disabled = false;
  }
}

/** Reloads the first page and the pipelines; answers its own errors in the notice line, so it never rejects. */
async function refresh(): Promise<void> {
  try {
    await Promise.all([loadPage(null), loadPipelines()]);
    notice('');
  } catch (error) {
    notice(messageOf(error));
  }
}

const grid = new JobGrid(
  $<HTMLCanvasElement>('#job-grid'),
  $('#grid-legend'),
  $('#grid-tooltip'),
  (_index, jobId) => {
    view.showJob(jobId).catch((error: unknown) => notice(messageOf(error)));
  },
);
const charts: JobCharts = new JobCharts(
  $<HTMLCanvasElement>('#timeline'),
  $<HTMLCanvasElement>('#durations'),
  (): Iterable<JobTiming> => view.allTimings(),
);
const view: OrchestrationView = new OrchestrationView(grid, charts);
// The grid's model, for tests and for the console: `e11Dashboard.grid.cellOf(index)`.
Object.assign(window, { e11Dashboard: { grid, charts, view } });

$('#retry').addEventListener('click', () => {
  retry().catch((error: unknown) => notice(messageOf(error)));
});
$('#more').addEventListener('click', () => {
  loadPage(nextCursor).catch((error: unknown) => notice(messageOf(error)));
});
$<HTMLFormElement>('#filters').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  filters = { jobName: (form.get('jobName') as string).trim(), status: form.get('status') as string };
  for (const row of rows.values()) stop(row);
  rows.clear();
  $('#orchestrations tbody').replaceChildren();
  loadPage(null).catch((error: unknown) => notice(messageOf(error)));
});

async function start(): Promise<void> {
  await refresh();
  loadMetrics().catch(() => undefined);
  const wanted = location.hash.slice(1);
  if (wanted) {
    try {
      await openOrchestration(wanted);
    } catch (error) {
      notice(messageOf(error));
    }
  }
  document.body.dataset.ready = 'true';
  setInterval(() => {
    refresh().catch((error: unknown) => notice(messageOf(error)));
  }, 5000);
  setInterval(() => {
    loadMetrics().catch(() => undefined);
  }, 15000);
}

start().catch((error: unknown) => notice(messageOf(error)));
