/**
 * The open orchestration's panel: its cost and trace, the grid of its jobs, the charts, and the job a
 * cell click opens (params as the API sends them, redacted; attempts; error and stack; logs link).
 * Jobs come in pages from `/api/orchestrations/{id}/jobs`; the SSE stream's `job` events keep the grid
 * and the charts live. Data is only ever inserted with `textContent`, never as HTML.
 */
import { type JobCharts, type JobTiming, formatDuration } from './job-charts.js';
import { cellState, type JobGrid } from './job-grid.js';

/** A job as the job list sends it (`DashboardJobSummary` over JSON). */
interface JobSummary {
  id: string;
  index: number;
  status: string;
  deadLettered: boolean;
  attempts: { startedAt: string; finishedAt: string | null }[];
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

/** A `job` event of the SSE stream (`JobEvent` over JSON). */
export interface JobEvent {
  jobId: string;
  index: number;
  status: string;
  previousStatus: string | null;
  deadLettered: boolean;
  updatedAt: string;
}

/** One job as its endpoint sends it (`DashboardJob` over JSON). */
interface JobDetails {
  id: string;
  index: number;
  status: string;
  params: unknown;
  attempt: number;
  attempts: {
    attempt: number;
    epoch: number;
    startedAt: string;
    finishedAt: string | null;
    outcome: string | null;
    error: { code: string; message: string } | null;
  }[];
  error: { code: string; message: string; stack?: string | null } | null;
  deadLettered: boolean;
  links: { logs: string | null };
}

/** What the panel reads of an orchestration (`DashboardOrchestration` over JSON or a stream event). */
export interface OrchestrationFacts {
  id: string;
  total: number;
  cost?: { taskSeconds: number; amount: number; currency: string } | null;
  traceId?: string | null;
  links?: { logs: string | null; trace: string | null };
}

const TERMINAL = ['Completed', 'Errored', 'Cancelled'];
const ms = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));

function $<T extends HTMLElement = HTMLElement>(selector: string): T {
  const node = document.querySelector<T>(selector);
  if (!node) throw new Error(`The page has no ${selector}.`);
  return node;
}

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function link(href: string, text: string): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = text;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  return a;
}

/** The cost as text: amount and currency, then the task time; "—" when the view has none. */
export function costText(cost: OrchestrationFacts['cost']): string {
  if (!cost) return '—';
  const amount = new Intl.NumberFormat(undefined, {
    style: 'currency',
    currency: cost.currency,
    // A small batch costs fractions of a cent: show its first significant digits, not $0.0000.
    ...(cost.amount > 0 && cost.amount < 1 ? { maximumSignificantDigits: 3 } : { maximumFractionDigits: 2 }),
  }).format(cost.amount);
  return amount + ' · ' + formatDuration(cost.taskSeconds * 1000) + ' of task time';
}

export class OrchestrationView {
  /** The open orchestration; null when none is. */
  id: string | null = null;
  private facts: OrchestrationFacts | null = null;
  private timings = new Map<number, JobTiming & { updatedAt: number; id: string }>();
  private generation = 0;

  constructor(
    private readonly grid: JobGrid,
    private readonly charts: JobCharts,
  ) {}

  /** The timings the charts draw. */
  allTimings(): Iterable<JobTiming> {
    return this.timings.values();
  }

  /**
   * Opens an orchestration: waits for `streamReady` (its SSE stream is listening, so no change falls
   * between the list and the stream), then loads its jobs page by page, drawing as they come. The
   * same orchestration again keeps its cells and takes what is newer.
   */
  async open(info: OrchestrationFacts, streamReady: Promise<void>): Promise<void> {
    const generation = ++this.generation;
    if (info.id !== this.id || info.total !== this.grid.size) {
      this.id = info.id;
      this.timings = new Map();
      this.grid.reset(info.total);
      this.charts.render();
      $('#job-details').hidden = true;
    }
    this.facts = info;
    const grid = $('#job-grid');
    grid.dataset.loaded = 'false';
    this.renderFacts(info);
    await streamReady;
    await this.loadJobs(info.id, generation);
  }

  /** Lists the open orchestration's jobs again, keeping what is drawn until newer data replaces it. */
  async refresh(): Promise<void> {
    if (this.facts) await this.open(this.facts, Promise.resolve());
  }

  private async loadJobs(id: string, generation: number): Promise<void> {
    const grid = $('#job-grid');
    const started = performance.now();
    let cursor: string | null = null;
    do {
      const params = new URLSearchParams({ limit: '1000' });
      if (cursor) params.set('cursor', cursor);
      const response = await fetch(
        '/api/orchestrations/' + encodeURIComponent(id) + '/jobs?' + params.toString(),
      );
      const page = (await response.json()) as {
        items: JobSummary[];
        total: number;
        nextCursor: string | null;
        error?: { message: string };
      };
      if (!response.ok) throw new Error(page.error?.message ?? response.statusText);
      if (generation !== this.generation) return;
      if (cursor === null) {
        grid.dataset.firstPageMs = String(Math.round(performance.now() - started));
        if (page.total !== this.grid.size) this.grid.reset(page.total);
      }
      for (const job of page.items) this.load(job);
      this.charts.update();
      cursor = page.nextCursor;
    } while (cursor);
    grid.dataset.loadMs = String(Math.round(performance.now() - started));
    grid.dataset.loaded = 'true';
    this.charts.render();
  }

  /** Shows the cost and the trace of the open orchestration (the API's view, or a stream event's). */
  renderFacts(info: OrchestrationFacts): void {
    if (info.id !== this.id) return;
    // Stream events carry no links: the API's view of the same orchestration has them.
    const links = info.links ?? (this.facts?.id === info.id ? this.facts.links : undefined);
    $('#cost').textContent = costText(info.cost);
    const trace = $('#trace');
    const traceId = info.traceId ?? null;
    const href = links?.trace ?? null;
    if (traceId === null) trace.replaceChildren('—');
    else trace.replaceChildren(href ? link(href, traceId) : traceId);
    const logs = links?.logs ?? null;
    $('#orchestration-logs').replaceChildren(logs === null ? '—' : link(logs, 'logs'));
  }

  private load(job: JobSummary): void {
    const known = this.timings.get(job.index);
    const updatedAt = Date.parse(job.updatedAt);
    // An event newer than the listing was applied already.
    if (known && known.updatedAt >= updatedAt) return;
    this.timings.set(job.index, {
      id: job.id,
      updatedAt,
      attempts: job.attempts.map((attempt) => [Date.parse(attempt.startedAt), ms(attempt.finishedAt)]),
      startedAt: ms(job.startedAt),
      finishedAt: ms(job.finishedAt),
    });
    this.grid.set(job.index, job.id, cellState(job.status, job.deadLettered));
  }

  /** Applies a `job` event of the open orchestration's stream: its cell and its timing change. */
  applyJobEvent(event: JobEvent): void {
    const at = Date.parse(event.updatedAt);
    const timing = this.timings.get(event.index) ?? {
      id: event.jobId,
      updatedAt: 0,
      attempts: [],
      startedAt: null,
      finishedAt: null,
    };
    if (timing.updatedAt >= at) return;
    timing.updatedAt = at;
    const was = event.previousStatus;
    if (event.status === 'InProgress' && was !== 'InProgress') {
      timing.attempts.push([at, null]);
      timing.startedAt ??= at;
    }
    if (was === 'InProgress' && event.status !== 'InProgress') {
      const open = timing.attempts.find((attempt) => attempt[1] === null);
      if (open) open[1] = at;
    }
    if (TERMINAL.includes(event.status)) timing.finishedAt ??= at;
    else timing.finishedAt = null;
    this.timings.set(event.index, timing);
    this.grid.set(event.index, event.jobId, cellState(event.status, event.deadLettered));
    this.charts.update();
  }

  /** Opens one job below the grid: its params, attempts, error with stack, and logs link. */
  async showJob(jobId: string): Promise<void> {
    const id = this.id;
    if (id === null) return;
    const response = await fetch(
      '/api/orchestrations/' + encodeURIComponent(id) + '/jobs/' + encodeURIComponent(jobId),
    );
    const job = (await response.json()) as JobDetails & { error?: { message: string } };
    if (!response.ok) throw new Error(job.error?.message ?? response.statusText);
    if (id !== this.id) return;
    const panel = $('#job-details');
    panel.hidden = false;
    panel.dataset.jobId = job.id;
    $('#job-title').textContent = 'Job #' + String(job.index) + ' · ' + job.id;
    $('#job-status').textContent =
      job.status + (job.deadLettered ? ' (dead-lettered)' : '') + ' · attempt ' + String(job.attempt);
    $('#job-logs').replaceChildren(job.links.logs ? link(job.links.logs, 'logs') : '—');
    $('#job-params').textContent = JSON.stringify(job.params, null, 2);
    $('#job-attempts tbody').replaceChildren(
      ...job.attempts.map((attempt) => {
        const start = Date.parse(attempt.startedAt);
        const end = ms(attempt.finishedAt);
        const tr = document.createElement('tr');
        tr.append(
          cell(String(attempt.attempt) + (attempt.epoch > 1 ? ' (run ' + String(attempt.epoch) + ')' : '')),
          cell(new Date(start).toLocaleString()),
          cell(end === null ? 'running' : new Date(end).toLocaleString()),
          cell(end === null ? '—' : formatDuration(end - start)),
          cell(
            (attempt.outcome ?? '') +
              (attempt.error ? ' · ' + attempt.error.code + ': ' + attempt.error.message : ''),
          ),
        );
        return tr;
      }),
    );
    $('#job-no-attempts').hidden = job.attempts.length > 0;
    const error = $('#job-error');
    error.hidden = job.error === null;
    $('#job-error-message').textContent = job.error ? job.error.code + ': ' + job.error.message : '';
    $('#job-error-stack').textContent = job.error?.stack ?? '';
  }
}
