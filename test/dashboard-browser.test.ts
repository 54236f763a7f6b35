import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { createDashboardServer, type DashboardServer } from '@e11/cli';
import { definePipeline } from '@e11/sdk';
import { activeListenerCount } from '@e11/sdk/testing';
import npmChromium from '@sparticuz/chromium';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import {
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

beforeAll(async () => {
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
});

async function openDashboard(hash = ''): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
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
