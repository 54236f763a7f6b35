import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { cloudLoggingUrl, createDashboardServer, type DashboardServer } from '@e11/cli';
import { completeJob } from '@e11/core';
import { definePipeline, type JobInfo } from '@e11/sdk';
import { activeListenerCount } from '@e11/sdk/testing';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import npmChromium from '@sparticuz/chromium';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  claim,
  detectCompletion,
  ensureTopic,
  monitoringService,
  runToCompletion,
  runToFailure,
} from './helpers/monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';

// A real headless Chromium driven through playwright-core, against the real dashboard server, with jobs
// moved through the real store functions while the page is open. The browser is E11_CHROMIUM, else a
// system Chromium when one is installed, else the one `npm install` brought (@sparticuz/chromium, which
// unpacks its headless build to the temp directory on first use).
const SYSTEM_CHROMIUM = '/usr/bin/chromium';

async function chromiumLaunchOptions(): Promise<{ executablePath: string; args: string[] }> {
  const chosen = process.env.E11_CHROMIUM ?? (existsSync(SYSTEM_CHROMIUM) ? SYSTEM_CHROMIUM : undefined);
  if (chosen !== undefined) return { executablePath: chosen, args: ['--no-sandbox'] };
  // Its args are tuned for one page per browser in a Lambda; `--single-process` ends the browser when a
  // page closes, and this file opens several pages in one browser.
  const args = npmChromium.args.filter((arg) => arg !== '--single-process');
  return { executablePath: await npmChromium.executablePath(), args };
}
const screenshot = fileURLToPath(new URL('artifacts/dashboard.png', import.meta.url));
// test/artifacts/ is git-ignored.
const largeScreenshot = fileURLToPath(new URL('artifacts/dashboard-10000-jobs.png', import.meta.url));
const orchestrationScreenshot = fileURLToPath(
  new URL('artifacts/dashboard-orchestration.png', import.meta.url),
);

const projectId = testProjectId('dashboard-browser');
const { firestore, pubsub } = emulatorClients(projectId);
// Two stages; the recording launcher runs nothing, so a started pipeline stays in its first stage.
const report = definePipeline<{ month: string }>({
  name: 'monthly-report',
  stages: [
    { name: 'split', job: 'process_batch', params: ({ input }) => [{ month: input.month }] },
    { name: 'merge', job: 'make_report', params: ({ input }) => [{ month: input.month }] },
  ],
});
const service = monitoringService(firestore, pubsub, 'b_', { pipelines: [report] });
const store = storeFor(firestore, { collectionPrefix: 'b_' });
let dashboard: DashboardServer;
let browser: Browser;
const pageErrors: string[] = [];

// An OpenTelemetry SDK in this backend, so kick-offs store their trace and the page can link it.
const tracerProvider = new TracerProvider({
  spanProcessors: [new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })],
});

beforeAll(async () => {
  trace.setGlobalTracerProvider(tracerProvider);
  await ensureTopic(pubsub);
  dashboard = await createDashboardServer(service, { port: 0 });
  browser = await chromium.launch({ ...(await chromiumLaunchOptions()), headless: true });
});
afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
  await service.close();
  await firestore.terminate();
  await pubsub.close();
  await tracerProvider.shutdown();
});

async function openDashboard(hash = '', viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(dashboard.url + hash);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

/** Waits until the row's progress bar shows `percent`. */
async function progressOf(page: Page, orchestrationId: string, percent: number) {
  await page.waitForSelector(
    `tr[data-id="${orchestrationId}"] [role="progressbar"][aria-valuenow="${percent}"]`,
  );
}

/** The state a grid cell must show for a job, from the job as the SDK reads it. */
function expectedState(job: JobInfo): string {
  return job.status === 'Errored' && job.deadLettered ? 'DeadLettered' : job.status;
}

/** What the page code below reads: the parts of the DOM, the grid model and chart.js it uses. */
interface CanvasLike {
  width: number;
  getBoundingClientRect(): { width: number };
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}
interface ChartLike {
  data: { datasets: { data: unknown[] }[] };
}
interface PageGlobals {
  document: { querySelector(selector: string): CanvasLike | null };
  /** browser/job-grid.ts's model, as dashboard.ts exposes it. */
  e11Dashboard: { grid: GridModel };
  Chart: { getChart(canvas: CanvasLike | null): ChartLike | undefined };
}
interface GridModel {
  size: number;
  cellOf(index: number): { state: string; box: { x: number; y: number; size: number } } | null;
}

/** The grid's model and the colour of the canvas pixel inside each cell, read in the page. */
async function gridCells(page: Page, count: number) {
  return page.evaluate((total) => {
    const { document, e11Dashboard } = globalThis as unknown as PageGlobals;
    const canvas = document.querySelector('#job-grid');
    const context = canvas?.getContext('2d');
    if (!canvas || !context) throw new Error('no grid canvas');
    const ratio = canvas.width / canvas.getBoundingClientRect().width;
    const hex = (n: number) => n.toString(16).padStart(2, '0');
    return Array.from({ length: total }, (_, index) => {
      const cell = e11Dashboard.grid.cellOf(index);
      if (!cell) return null;
      const { x, y, size } = cell.box;
      const data = context.getImageData(
        Math.floor((x + size / 3) * ratio),
        Math.floor((y + size / 3) * ratio),
        1,
        1,
      ).data;
      return { state: cell.state, pixel: '#' + hex(data[0] ?? 0) + hex(data[1] ?? 0) + hex(data[2] ?? 0) };
    });
  }, count);
}

/** A cell's box on the canvas, from the grid model. */
async function cellBox(page: Page, index: number) {
  return page.evaluate(
    (i) => (globalThis as unknown as PageGlobals).e11Dashboard.grid.cellOf(i)?.box ?? null,
    index,
  );
}

/** The legend: colour and count per state. */
async function legend(page: Page): Promise<Record<string, { colour: string; count: number }>> {
  const entries: [string, { colour: string; count: number }][] = [];
  for (const item of await page.locator('#grid-legend li').all()) {
    entries.push([
      (await item.getAttribute('data-state')) ?? '',
      {
        colour: (await item.getAttribute('data-colour')) ?? '',
        count: Number(await item.getAttribute('data-count')),
      },
    ]);
  }
  return Object.fromEntries(entries);
}

/** The data chart.js holds: the timeline's points and the histogram's bin counts. */
async function chartData(page: Page) {
  return page.evaluate(() => {
    const { document, Chart } = globalThis as unknown as PageGlobals;
    const timeline = Chart.getChart(document.querySelector('#timeline'));
    const histogram = Chart.getChart(document.querySelector('#durations'));
    return {
      points: (timeline?.data.datasets[1]?.data ?? []) as { x: number; running: number; ended: number }[],
      bins: (histogram?.data.datasets[0]?.data ?? []) as number[],
    };
  });
}

/** The distinct times of attempt starts and ends and of job ends: one timeline point each. */
function eventTimes(jobs: JobInfo[]): number {
  const times = new Set<number>();
  for (const job of jobs) {
    for (const attempt of job.attempts) {
      times.add(attempt.startedAt.getTime());
      if (attempt.finishedAt) times.add(attempt.finishedAt.getTime());
    }
    if (job.finishedAt) times.add(job.finishedAt.getTime());
  }
  return times.size;
}

/** A PNG's width and height, from its IHDR chunk; throws when the file is not a PNG. */
async function pngSize(path: string): Promise<{ width: number; height: number; bytes: number }> {
  const png = await readFile(path);
  if (png.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error(`${path} is not a PNG`);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20), bytes: png.length };
}

describe('the dashboard in a headless browser', () => {
  it('shows live progress over SSE, failed jobs with redacted params and errors, and retries them', async () => {
    const { orchestrationId, jobIds } = await service.kickOffJob(
      'process_batch',
      [
        { file: 'a.csv', apiKey: 'sk-live-1' },
        { file: 'b.csv', apiKey: 'sk-live-2' },
        { file: 'c.csv', apiKey: 'sk-live-3' },
      ],
      { tags: { customerId: 'acme' }, sensitiveKeys: ['apiKey'] },
    );
    const [a, b, c] = jobIds as [string, string, string];
    const other = await service.kickOffJob('make_report', [{ month: 'May' }]);
    await runToCompletion(store, other.orchestrationId, other.jobIds[0] as string);
    await detectCompletion(store, pubsub, other.orchestrationId);

    const page = await openDashboard(`#${orchestrationId}`);
    const row = page.locator(`tr[data-id="${orchestrationId}"]`);
    await page.waitForSelector(`tr[data-id="${orchestrationId}"][data-status="InProgress"]`);
    await page.waitForSelector(`tr[data-id="${other.orchestrationId}"][data-status="Completed"]`);
    await progressOf(page, orchestrationId, 0);
    // The page opened one stream, for the unfinished orchestration only.
    await vi.waitFor(() => expect(activeListenerCount()).toBe(3));

    // Live: the bar moves as jobs end, without a reload.
    await runToCompletion(store, orchestrationId, a);
    await progressOf(page, orchestrationId, 33);
    expect(await row.locator('.count').textContent()).toBe(' 1/3 (33%)');

    await runToFailure(store, orchestrationId, b, 'disk full while writing b.csv', 'E11_JOB_FAILED');
    await progressOf(page, orchestrationId, 66);
    const failure = page.locator(`#failures tr[data-job-id="${b}"]`);
    await failure.waitFor();
    expect(await failure.locator('.error').textContent()).toBe(
      'E11_JOB_FAILED: disk full while writing b.csv',
    );
    const params = JSON.parse((await failure.locator('.params').textContent()) ?? '') as unknown;
    expect(params).toEqual({ file: 'b.csv', apiKey: '[REDACTED]' });

    await runToCompletion(store, orchestrationId, c);
    await detectCompletion(store, pubsub, orchestrationId);
    await page.waitForSelector(`tr[data-id="${orchestrationId}"][data-status="Errored"]`);
    await progressOf(page, orchestrationId, 100);
    // The stream ended with `completed` and the page closed it.
    await vi.waitFor(() => expect(activeListenerCount()).toBe(0));
    expect(await page.content()).not.toContain('sk-live');

    await mkdir(fileURLToPath(new URL('artifacts/', import.meta.url)), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    expect((await stat(screenshot)).size).toBeGreaterThan(10_000);

    // Retry: the failed job goes back to Pending in Firestore, and the row follows the new run live.
    await page.click('#retry');
    await page.waitForSelector('#retry-result:text("Retrying 1 job(s) in run 2.")');
    expect((await service.getJob(orchestrationId, b)).status).toBe('Pending');
    await page.waitForSelector(`tr[data-id="${orchestrationId}"][data-status="InProgress"]`);
    await runToCompletion(store, orchestrationId, b);
    await detectCompletion(store, pubsub, orchestrationId);
    await page.waitForSelector(`tr[data-id="${orchestrationId}"][data-status="Completed"]`);
    await progressOf(page, orchestrationId, 100);
    await page.waitForSelector('#no-failures:not([hidden])');

    await page.close();
    await vi.waitFor(() => expect(activeListenerCount()).toBe(0));
    expect(pageErrors).toEqual([]);
  });

  it('shows an orchestration as a grid of its jobs coloured by status, its charts, and a clicked job; cells change live', async () => {
    const params = Array.from({ length: 8 }, (_, i) => ({ file: `part-${i}.csv`, token: `tok-secret-${i}` }));
    const { orchestrationId, jobIds } = await service.kickOffJob('process_batch', params, {
      sensitiveKeys: ['token'],
    });
    const id = (index: number) => jobIds[index] as string;
    await runToCompletion(store, orchestrationId, id(0));
    await runToFailure(store, orchestrationId, id(1), 'disk full at row 7', 'E11_JOB_FAILED', {
      stack: 'Error: disk full at row 7\n    at write (job.ts:12:3)',
    });
    await runToCompletion(store, orchestrationId, id(2));
    const running = await claim(store, orchestrationId, id(3));
    await runToFailure(store, orchestrationId, id(4), 'bad input', 'E11_JOB_FAILED', {
      stack: 'Error: bad input',
      deadLettered: false,
    });

    const page = await openDashboard(`#${orchestrationId}`, { width: 1280, height: 800 });
    // A CSP violation (an inline style chart.js might set, a script from elsewhere) is a console error.
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.waitForSelector('#job-grid[data-loaded="true"]');
    const jobs = await service.listJobs(orchestrationId);
    const colours = await legend(page);
    // One cell per job, each in its job's state and drawn in that state's legend colour.
    const cells = await gridCells(page, jobs.length);
    expect(cells.map((cell) => cell?.state)).toEqual(jobs.map(expectedState));
    for (const cell of cells) expect(cell?.pixel).toBe(colours[cell?.state ?? '']?.colour);
    expect(await page.locator('#job-grid').getAttribute('data-cells')).toBe(String(jobs.length));
    for (const [state, { count }] of Object.entries(colours)) {
      expect(count, state).toBe(jobs.filter((job) => expectedState(job) === state).length);
    }
    // Distinct colours, so a state can be told apart at a glance.
    expect(new Set(Object.values(colours).map((entry) => entry.colour)).size).toBe(
      Object.keys(colours).length,
    );

    // The charts: one timeline point per distinct event time, one histogram entry per ended job.
    const ended = jobs.filter((job) => job.startedAt !== null && job.finishedAt !== null).length;
    await page.waitForSelector(`#timeline[data-points="${eventTimes(jobs)}"]`);
    const charts = await chartData(page);
    expect(charts.points).toHaveLength(eventTimes(jobs));
    expect(charts.points.at(-1)).toMatchObject({
      running: 1,
      ended: jobs.filter((job) => job.finishedAt !== null).length,
    });
    expect(charts.bins.reduce((sum, count) => sum + count, 0)).toBe(ended);
    expect(await page.locator('#durations').getAttribute('data-bins')).toBe(String(charts.bins.length));

    // The cost and the trace, as the orchestration's JSON has them.
    const info = (await (
      await fetch(new URL(`/api/orchestrations/${orchestrationId}`, dashboard.url))
    ).json()) as {
      cost: { taskSeconds: number; amount: number; currency: string } | null;
      traceId: string | null;
      links: { trace: string | null; logs: string | null };
    };
    expect(info.cost?.currency).toBe('USD');
    expect(await page.locator('#cost').textContent()).toMatch(new RegExp(`^\\$[0-9.,]+ · .+ of task time$`));
    expect(info.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(info.links.trace).toContain(info.traceId);
    expect(await page.locator('#trace a').getAttribute('href')).toBe(info.links.trace);

    // A click on a cell opens its job: redacted params, attempts, error with stack, and its logs link.
    const box = await page.locator('#job-grid').boundingBox();
    const target = await cellBox(page, 1);
    if (!box || !target) throw new Error('the grid has no cell 1');
    await page.mouse.move(box.x + target.x + target.size / 2, box.y + target.y + target.size / 2);
    await page.waitForSelector('#grid-tooltip:not([hidden])');
    expect(await page.locator('#grid-tooltip').textContent()).toBe('#1 · Dead-lettered');
    await page.mouse.click(box.x + target.x + target.size / 2, box.y + target.y + target.size / 2);
    await page.waitForSelector(`#job-details[data-job-id="${id(1)}"]:not([hidden])`);
    const failed = await service.getJob(orchestrationId, id(1));
    expect(JSON.parse((await page.locator('#job-params').textContent()) ?? '')).toEqual(failed.params);
    expect(failed.params).toEqual({ file: 'part-1.csv', token: '[REDACTED]' });
    expect(await page.locator('#job-attempts tbody tr').count()).toBe(failed.attempts.length);
    expect(await page.locator('#job-error-message').textContent()).toBe('E11_JOB_FAILED: disk full at row 7');
    expect(await page.locator('#job-error-stack').textContent()).toContain('at write (job.ts:12:3)');
    expect(await page.locator('#job-logs a').getAttribute('href')).toBe(
      cloudLoggingUrl({ projectId, orchestrationId, jobId: id(1) }),
    );
    expect(await page.content()).not.toContain('tok-secret');

    await mkdir(fileURLToPath(new URL('artifacts/', import.meta.url)), { recursive: true });
    await page.screenshot({ path: orchestrationScreenshot, fullPage: true });
    const png = await pngSize(orchestrationScreenshot);
    expect(png.width).toBe(1280);
    expect(png.height).toBeGreaterThanOrEqual(800);
    expect(png.bytes).toBeGreaterThan(20_000);

    // Live: the running job ends while the page is open; its cell turns Completed and the chart grows.
    const before = charts.points.at(-1)?.ended ?? 0;
    expect(await completeJob(store, { orchestrationId, jobId: id(3), claimId: running, result: null })).toBe(
      'recorded',
    );
    await page.waitForFunction(
      (i) => (globalThis as unknown as PageGlobals).e11Dashboard.grid.cellOf(i)?.state === 'Completed',
      3,
    );
    await page.waitForFunction((count) => {
      const { document, Chart } = globalThis as unknown as PageGlobals;
      const points = Chart.getChart(document.querySelector('#timeline'))?.data.datasets[1]?.data;
      return (points?.at(-1) as { ended: number } | undefined)?.ended === count;
    }, before + 1);
    const live = await gridCells(page, jobs.length);
    expect(live[3]).toEqual({ state: 'Completed', pixel: colours.Completed?.colour });
    expect((await legend(page)).Completed?.count).toBe((colours.Completed?.count ?? 0) + 1);
    expect(consoleErrors).toEqual([]);
    await page.close();
    expect(pageErrors).toEqual([]);
  });

  it('shows the jobs of a cancelled orchestration as Cancelled cells', async () => {
    const { orchestrationId } = await service.kickOffJob(
      'make_report',
      [{ month: 'Oct' }, { month: 'Nov' }],
      {
        startAt: new Date(Date.now() + 3_600_000),
      },
    );
    expect((await service.cancel(orchestrationId)).cancelled).toBe(2);
    const jobs = await service.listJobs(orchestrationId);
    expect(jobs.map((job) => job.status)).toEqual(['Cancelled', 'Cancelled']);
    const page = await openDashboard(`#${orchestrationId}`);
    await page.waitForSelector('#job-grid[data-loaded="true"]');
    const colours = await legend(page);
    expect(await gridCells(page, jobs.length)).toEqual(
      jobs.map(() => ({ state: 'Cancelled', pixel: colours.Cancelled?.colour })),
    );
    expect(colours.Cancelled?.count).toBe(2);
    await page.close();
    expect(pageErrors).toEqual([]);
  });

  it('draws every cell of an orchestration of 10,000 jobs', async () => {
    const total = 10_000;
    const { orchestrationId } = await service.kickOffJob(
      'make_report',
      Array.from({ length: total }, (_, i) => ({ n: i })),
      // Nothing launches before its start: every job stays Pending, read from its params chunk.
      { startAt: new Date(Date.now() + 3_600_000) },
    );
    const page = await openDashboard(`#${orchestrationId}`, { width: 1280, height: 800 });
    await page.waitForSelector('#job-grid[data-loaded="true"]', { timeout: 60_000 });
    const grid = page.locator('#job-grid');
    expect(await grid.getAttribute('data-cells')).toBe(String(total));
    expect((await legend(page)).Pending?.count).toBe(total);
    const cells = await gridCells(page, total);
    expect(cells.filter((cell) => cell?.state === 'Pending' && cell.pixel === '#d0d7de')).toHaveLength(total);
    // Cells shrink to fit: the whole grid stays within the 1280×800 page.
    const box = await grid.boundingBox();
    expect(box?.width).toBeLessThanOrEqual(1280);
    expect(box?.height).toBeLessThanOrEqual(800);
    await page.locator('#details').screenshot({ path: largeScreenshot });
    expect((await pngSize(largeScreenshot)).bytes).toBeGreaterThan(10_000);
    console.info(
      `10,000 jobs: grid loaded in ${(await grid.getAttribute('data-load-ms')) ?? '?'} ms, ` +
        `the first page of 1,000 (every job read) in ${(await grid.getAttribute('data-first-page-ms')) ?? '?'} ms`,
    );
    await page.close();
    expect(pageErrors).toEqual([]);
  });

  it('lists new orchestrations and shows the metrics table', async () => {
    const page = await openDashboard();
    await page.waitForSelector('#metrics tbody tr');
    const jobs = await page.locator('#metrics tbody tr td:first-child').allTextContents();
    expect(jobs).toEqual(expect.arrayContaining(['process_batch', 'make_report']));
    await page.close();
    expect(pageErrors).toEqual([]);
  });

  it('says what holds an orchestration back: a pause and its maxParallel', async () => {
    const limited = await service.kickOffJob(
      'make_report',
      [{ month: 'Jun' }, { month: 'Jul' }, { month: 'Aug' }],
      { maxParallel: 1 },
    );
    await service.pause(limited.orchestrationId);
    const page = await openDashboard();
    const status = page.locator(`tr[data-id="${limited.orchestrationId}"] td.status`);
    await status.waitFor();
    expect(await status.textContent()).toBe('InProgress · paused · ≤1 at once, 2 waiting');
    await page.close();
    await service.resume(limited.orchestrationId);
    expect(pageErrors).toEqual([]);
  });

  it('shows a pipeline’s stages as steps, and a started stage opens its orchestration', async () => {
    const { pipelineId, orchestrationId } = await service.startPipeline(report, { month: 'Sep' });
    const page = await openDashboard();
    const row = page.locator(`#pipelines tr[data-pipeline-id="${pipelineId}"]`);
    expect(await row.locator('td').allTextContents()).toEqual([
      pipelineId,
      'monthly-report',
      'InProgress',
      'split',
      expect.any(String),
    ]);
    await row.click();
    const split = page.locator('#stages button.stage[data-stage="split"]');
    expect(await split.textContent()).toBe('splitprocess_batchInProgress-');
    // A stage that has not started has no orchestration to open.
    expect(await page.locator('#stages div.stage[data-stage="merge"]').textContent()).toBe(
      'mergemake_reportWaiting-',
    );
    await split.click();
    await page.waitForSelector(`#details-id:text("${orchestrationId}")`);
    await page.waitForSelector(`tr.selected[data-id="${orchestrationId}"]`);
    await page.close();
    await vi.waitFor(() => expect(activeListenerCount()).toBe(0));
    expect(pageErrors).toEqual([]);
  });
});
