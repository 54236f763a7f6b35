import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import {
  cloudLoggingUrl,
  createDashboardServer,
  type DashboardJob,
  type DashboardJobPage,
  type DashboardOrchestration,
  type DashboardServer,
  DEFAULT_TRACE_URL_TEMPLATE,
  traceUrl,
} from '@e11/cli';
import { authorizeByTag, definePipeline, type PipelineInfo, type ProgressEvent } from '@e11/sdk';
import { activeListenerCount } from '@e11/sdk/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  detectCompletion,
  ensureTopic,
  monitoringService,
  runToCompletion,
  runToFailure,
} from './helpers/monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';
import { SseClient } from './helpers/sse-client.js';

const projectId = testProjectId('dashboard-api');
const { firestore, pubsub } = emulatorClients(projectId);
// Two stages; the recording launcher runs nothing, so a started pipeline stays in its first stage.
const report = definePipeline<{ month: string }>({
  name: 'monthly-report',
  stages: [
    { name: 'split', job: 'process_batch', params: ({ input }) => [{ month: input.month, part: 1 }] },
    { name: 'merge', job: 'make_report', params: ({ input }) => [{ month: input.month }] },
  ],
});
const service = monitoringService(firestore, pubsub, 'd_', { pipelines: [report] });
const store = storeFor(firestore, { collectionPrefix: 'd_' });
let dashboard: DashboardServer;
let scoped: DashboardServer;
let acmeOnly: DashboardServer;

beforeAll(async () => {
  await ensureTopic(pubsub);
  dashboard = await createDashboardServer(service, { port: 0 });
  scoped = await createDashboardServer(service, {
    port: 0,
    authorize: authorizeByTag('customerId', (req) => req.headers['x-customer-id']),
  });
  acmeOnly = await createDashboardServer(service.forTenant('acme'), { port: 0 });
});
afterAll(async () => {
  await dashboard.close();
  await scoped.close();
  await acmeOnly.close();
  await service.close();
  await firestore.terminate();
  await pubsub.close();
});

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.json() };
}

/** The ids `GET /api/pipelines` lists on `server`. */
async function listedPipelines(server: DashboardServer, init?: RequestInit): Promise<string[]> {
  const list = await getJson(new URL('/api/pipelines?limit=50', server.url).href, init);
  expect(list.status).toBe(200);
  return (list.body as { items: PipelineInfo[] }).items.map((item) => item.pipelineId);
}

/** A raw request with a chosen Host header (fetch does not let a caller set it). */
function withHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard server', () => {
  it('binds to loopback by default and serves the page and its assets with a strict CSP', async () => {
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(dashboard.url);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/assets/dashboard.js"></script>');
    const script = await fetch(new URL('/assets/dashboard.js', dashboard.url));
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toContain('new EventSource(');
    expect((await fetch(new URL('/nope', dashboard.url))).status).toBe(404);
  });

  it('serves as its script the browser code the CLI build compiled next to the server, byte for byte', async () => {
    const compiled = await readFile(
      new URL('../packages/cli/dist/dashboard/browser/dashboard.js', import.meta.url),
      'utf8',
    );
    const script = await fetch(new URL('/assets/dashboard.js', dashboard.url));
    expect(script.status).toBe(200);
    expect(await script.text()).toBe(compiled);
    // Compiled from TypeScript: no type annotation is left, and it is a module (the page loads it as
    // one) importing its sibling modules, which the server serves beside it.
    expect(compiled).not.toMatch(/: (string|number|Row|Info)\b/);
    expect(compiled).toMatch(/^import \{ JobGrid \} from '\.\/job-grid\.js';$/m);
  });

  it('refuses requests whose Host is not loopback (DNS rebinding)', async () => {
    expect(await withHost(dashboard.url, 'evil.example')).toBe(403);
    expect(await withHost(dashboard.url, `localhost:${new URL(dashboard.url).port}`)).toBe(200);
  });

  it('lists orchestrations, shows one, and answers 404 for an unknown id and 400 for a bad cursor or status', async () => {
    const { orchestrationId } = await service.kickOffJob('process_batch', [{ a: 1 }]);
    const list = await getJson(new URL('/api/orchestrations?limit=5', dashboard.url).href);
    expect(list.status).toBe(200);
    expect((list.body as { items: { id: string }[] }).items.map((item) => item.id)).toContain(
      orchestrationId,
    );
    const one = await getJson(new URL(`/api/orchestrations/${orchestrationId}`, dashboard.url).href);
    expect(one).toMatchObject({ status: 200, body: { id: orchestrationId, total: 1 } });
    expect(await getJson(new URL('/api/orchestrations/missing', dashboard.url).href)).toMatchObject({
      status: 404,
      body: { error: { code: 'E11_UNKNOWN_ORCHESTRATION' } },
    });
    expect(await getJson(new URL('/api/orchestrations?cursor=garbage', dashboard.url).href)).toMatchObject({
      status: 400,
      body: { error: { code: 'E11_INVALID_CURSOR' } },
    });
    expect(await getJson(new URL('/api/orchestrations?status=Done', dashboard.url).href)).toMatchObject({
      status: 400,
      body: { error: { code: 'E11_INVALID_OPTIONS' } },
    });
    const metrics = await getJson(new URL('/api/metrics', dashboard.url).href);
    expect(metrics.status).toBe(200);
    expect((metrics.body as { jobs: Record<string, unknown> }).jobs.process_batch).toBeDefined();
  });

  it('shows failed jobs with sensitive params redacted, never their values', async () => {
    const { orchestrationId, jobIds } = await service.kickOffJob(
      'process_batch',
      [
        { file: 'a.csv', password: 'hunter2' },
        { file: 'b.csv', password: 'letmein' },
      ],
      { sensitiveKeys: ['password'] },
    );
    await runToFailure(store, orchestrationId, jobIds[1] as string, 'bad row 7', 'E11_JOB_FAILED');
    const response = await fetch(new URL(`/api/orchestrations/${orchestrationId}/failures`, dashboard.url));
    const text = await response.text();
    expect(text).not.toContain('letmein');
    expect(JSON.parse(text)).toEqual([
      expect.objectContaining({
        jobId: jobIds[1],
        index: 1,
        params: { file: 'b.csv', password: '[REDACTED]' },
        error: { code: 'E11_JOB_FAILED', message: 'bad row 7' },
        deadLettered: true,
      }),
    ]);
  });

  it('serves chart.js from the installed package and every browser module; the page loads nothing from elsewhere', async () => {
    const umd = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
    const chart = await fetch(new URL('/assets/chart.js', dashboard.url));
    expect(chart.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await chart.text()).toBe(await readFile(umd, 'utf8'));
    const script = await (await fetch(new URL('/assets/dashboard.js', dashboard.url))).text();
    const imported = [...script.matchAll(/from '\.\/([\w-]+\.js)'/g)].map((match) => match[1]);
    expect(imported).toEqual(
      expect.arrayContaining(['job-charts.js', 'job-grid.js', 'orchestration-view.js']),
    );
    for (const name of imported) {
      const module = await fetch(new URL(`/assets/${String(name)}`, dashboard.url));
      expect(module.status, String(name)).toBe(200);
    }
    const html = await (await fetch(dashboard.url)).text();
    const references = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((match) => match[1]);
    expect(references).toContain('/assets/chart.js');
    for (const reference of references) expect(reference).toMatch(/^\/assets\//);
  });

  it('pages an orchestration’s jobs as summaries, in index order, 1,000 by default', async () => {
    const total = 2_500;
    const { orchestrationId, jobIds } = await service.kickOffJob(
      'process_batch',
      Array.from({ length: total }, (_, i) => ({ n: i, password: `pw-${i}` })),
      { sensitiveKeys: ['password'], startAt: new Date(Date.now() + 3_600_000) },
    );
    await runToCompletion(store, orchestrationId, jobIds[1] as string);
    await runToFailure(store, orchestrationId, jobIds[2] as string, 'bad row', 'E11_JOB_FAILED');
    const base = new URL(`/api/orchestrations/${orchestrationId}/jobs`, dashboard.url);
    const pages: DashboardJobPage[] = [];
    const timings: number[] = [];
    let cursor: string | null = null;
    do {
      const url = new URL(base);
      if (cursor) url.searchParams.set('cursor', cursor);
      const started = performance.now();
      const page = await getJson(url.href);
      timings.push(Math.round(performance.now() - started));
      expect(page.status).toBe(200);
      pages.push(page.body as DashboardJobPage);
      cursor = (page.body as DashboardJobPage).nextCursor;
    } while (cursor);
    console.info(`${total} jobs in pages of 1,000: ${timings.join(' + ')} ms`);
    expect(pages.map((page) => page.items.length)).toEqual([1_000, 1_000, 500]);
    expect(pages.every((page) => page.total === total)).toBe(true);
    const items = pages.flatMap((page) => page.items);
    expect(items.map((job) => job.index)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(items.map((job) => job.id)).toEqual(jobIds);
    expect(items[1]).toMatchObject({
      status: 'Completed',
      attempts: [{ finishedAt: expect.any(String) as unknown }],
    });
    expect(items[2]).toMatchObject({ status: 'Errored', deadLettered: true });
    expect(items[3]).toMatchObject({ status: 'Pending', attempts: [], startedAt: null });
    // Summaries carry no params: the job's own endpoint has them, redacted.
    expect(JSON.stringify(pages)).not.toContain('pw-');

    const small = await getJson(new URL(`${base.pathname}?limit=2`, dashboard.url).href);
    expect((small.body as DashboardJobPage).items.map((job) => job.index)).toEqual([0, 1]);
    for (const limit of ['0', '5001', 'ten']) {
      expect(await getJson(new URL(`${base.pathname}?limit=${limit}`, dashboard.url).href)).toMatchObject({
        status: 400,
        body: { error: { code: 'E11_INVALID_OPTIONS' } },
      });
    }
    expect(await getJson(new URL(`${base.pathname}?cursor=garbage`, dashboard.url).href)).toMatchObject({
      status: 400,
      body: { error: { code: 'E11_INVALID_CURSOR' } },
    });
    expect(await getJson(new URL('/api/orchestrations/missing/jobs', dashboard.url).href)).toMatchObject({
      status: 404,
      body: { error: { code: 'E11_UNKNOWN_ORCHESTRATION' } },
    });
    expect((await fetch(base, { method: 'POST' })).status).toBe(405);
  });

  it('shows one job with redacted params, its attempts, error and Cloud Logging link, and an orchestration with its links', async () => {
    const { orchestrationId, jobIds } = await service.kickOffJob(
      'process_batch',
      [
        { file: 'a.csv', password: 'hunter2' },
        { file: 'b.csv', password: 'letmein' },
      ],
      { sensitiveKeys: ['password'] },
    );
    const failed = jobIds[1] as string;
    await runToFailure(store, orchestrationId, failed, 'bad row 7', 'E11_JOB_FAILED');
    const response = await fetch(
      new URL(`/api/orchestrations/${orchestrationId}/jobs/${failed}`, dashboard.url),
    );
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).not.toContain('letmein');
    const job = JSON.parse(text) as DashboardJob;
    expect(job).toMatchObject({
      id: failed,
      index: 1,
      status: 'Errored',
      params: { file: 'b.csv', password: '[REDACTED]' },
      error: { code: 'E11_JOB_FAILED', message: 'bad row 7' },
      attempts: [{ attempt: 1, outcome: 'Errored', finishedAt: expect.any(String) as unknown }],
      links: { logs: cloudLoggingUrl({ projectId, orchestrationId, jobId: failed }) },
    });
    expect(
      await getJson(
        new URL(`/api/orchestrations/${orchestrationId}/jobs/${orchestrationId}-nope`, dashboard.url).href,
      ),
    ).toMatchObject({ status: 404, body: { error: { code: 'E11_UNKNOWN_JOB' } } });

    const one = await getJson(new URL(`/api/orchestrations/${orchestrationId}`, dashboard.url).href);
    const info = one.body as DashboardOrchestration & { traceId?: string | null };
    expect(info.links).toEqual({
      logs: cloudLoggingUrl({ projectId, orchestrationId }),
      trace: traceUrl(DEFAULT_TRACE_URL_TEMPLATE, { projectId, traceId: info.traceId ?? null }),
    });
  });

  it('opens the console links in the project and trace viewer it is given, and refuses a bad trace URL template', async () => {
    const custom = await createDashboardServer(service, {
      port: 0,
      projectId: 'acme-prod',
      traceUrlTemplate: 'http://localhost:16686/trace/{traceId}',
    });
    try {
      const { orchestrationId, jobIds } = await service.kickOffJob('process_batch', [{ a: 1 }]);
      const job = await getJson(
        new URL(`/api/orchestrations/${orchestrationId}/jobs/${jobIds[0] as string}`, custom.url).href,
      );
      expect((job.body as DashboardJob).links.logs).toBe(
        cloudLoggingUrl({ projectId: 'acme-prod', orchestrationId, jobId: jobIds[0] }),
      );
      const one = await getJson(new URL(`/api/orchestrations/${orchestrationId}`, custom.url).href);
      const info = one.body as DashboardOrchestration & { traceId?: string | null };
      expect(info.links.trace).toBe(
        traceUrl('http://localhost:16686/trace/{traceId}', { projectId: 'acme-prod', traceId: info.traceId }),
      );
    } finally {
      await custom.close();
    }
    for (const traceUrlTemplate of ['https://example.com/traces', 'javascript:alert({traceId})']) {
      await expect(createDashboardServer(service, { port: 0, traceUrlTemplate })).rejects.toMatchObject({
        code: 'E11_INVALID_OPTIONS',
      });
    }
  });

  it('retries failed jobs only for requests from the page (custom header), and only with POST', async () => {
    const { orchestrationId, jobIds } = await service.kickOffJob('process_batch', [{ a: 1 }]);
    await runToFailure(store, orchestrationId, jobIds[0] as string);
    await detectCompletion(store, pubsub, orchestrationId);
    const retryUrl = new URL(`/api/orchestrations/${orchestrationId}/retry`, dashboard.url).href;
    expect(await getJson(retryUrl, { method: 'POST' })).toMatchObject({
      status: 403,
      body: { error: { code: 'E11_FORBIDDEN' } },
    });
    expect((await service.getJob(orchestrationId, jobIds[0] as string)).status).toBe('Errored');
    expect((await fetch(retryUrl)).status).toBe(405);
    const retried = await getJson(retryUrl, { method: 'POST', headers: { 'x-e11-dashboard': '1' } });
    expect(retried).toMatchObject({ status: 200, body: { epoch: 2, jobIds } });
    expect((await service.getJob(orchestrationId, jobIds[0] as string)).status).toBe('Pending');
  });

  it('streams an orchestration over SSE and detaches its listeners when the page goes away', async () => {
    const { orchestrationId, jobIds } = await service.kickOffJob('process_batch', [{ a: 1 }]);
    const client = await SseClient.connect(
      new URL(`/api/orchestrations/${orchestrationId}/events`, dashboard.url).href,
    );
    expect((await client.next()).event).toBe('status');
    await runToCompletion(store, orchestrationId, jobIds[0] as string);
    const done = await client.next((m) => m.event === 'progress' && (m.data as ProgressEvent).progress === 1);
    expect(done.data).toMatchObject({ counts: { completed: 1 } });
    await client.close();
    await vi.waitFor(() => expect(activeListenerCount()).toBe(0));
  });

  it('with authorize, lists and serves only the caller’s orchestrations', async () => {
    const acme = await service.kickOffJob('process_batch', [{ a: 1 }], { tags: { customerId: 'acme' } });
    const globex = await service.kickOffJob('process_batch', [{ a: 2 }], { tags: { customerId: 'globex' } });
    const asAcme = { headers: { 'x-customer-id': 'acme' } };
    const list = await getJson(new URL('/api/orchestrations?limit=50', scoped.url).href, asAcme);
    const ids = (list.body as { items: { id: string }[] }).items.map((item) => item.id);
    expect(ids).toContain(acme.orchestrationId);
    expect(ids).not.toContain(globex.orchestrationId);
    expect(
      await getJson(new URL(`/api/orchestrations/${globex.orchestrationId}`, scoped.url).href, asAcme),
    ).toMatchObject({
      status: 403,
    });
    expect(
      (
        await getJson(
          new URL(`/api/orchestrations/${globex.orchestrationId}/failures`, scoped.url).href,
          asAcme,
        )
      ).status,
    ).toBe(403);
    for (const path of ['jobs', `jobs/${globex.jobIds[0] as string}`]) {
      expect(
        await getJson(
          new URL(`/api/orchestrations/${globex.orchestrationId}/${path}`, scoped.url).href,
          asAcme,
        ),
      ).toMatchObject({ status: 403, body: { error: { code: 'E11_FORBIDDEN' } } });
    }
    const stream = await SseClient.connect(
      new URL(`/api/orchestrations/${globex.orchestrationId}/events`, scoped.url).href,
      asAcme.headers,
    );
    expect(stream.status).toBe(403);
    await stream.close();
  });

  it('lists pipelines and shows one with its stages and their orchestrations; an unknown id is not found', async () => {
    const { pipelineId, orchestrationId } = await service.startPipeline(report, { month: 'May' });
    expect(await listedPipelines(dashboard)).toContain(pipelineId);
    const running = await getJson(new URL('/api/pipelines?status=InProgress', dashboard.url).href);
    expect((running.body as { items: PipelineInfo[] }).items.map((item) => item.pipelineId)).toContain(
      pipelineId,
    );
    const ended = await getJson(new URL('/api/pipelines?status=Completed', dashboard.url).href);
    expect((ended.body as { items: PipelineInfo[] }).items.map((item) => item.pipelineId)).not.toContain(
      pipelineId,
    );

    const one = await getJson(new URL(`/api/pipelines/${pipelineId}`, dashboard.url).href);
    expect(one).toMatchObject({
      status: 200,
      body: {
        pipelineId,
        name: 'monthly-report',
        status: 'InProgress',
        currentStage: 'split',
        stages: [
          { name: 'split', job: 'process_batch', status: 'InProgress', orchestrationId, counts: null },
          { name: 'merge', job: 'make_report', status: 'Waiting', counts: null },
        ],
      },
    });
    // The stage's orchestration is the one the orchestration view opens.
    expect(
      await getJson(new URL(`/api/orchestrations/${orchestrationId}`, dashboard.url).href),
    ).toMatchObject({
      status: 200,
      body: { id: orchestrationId, jobName: 'process_batch', total: 1 },
    });

    for (const missing of ['missing', '%E0%A4%A', '__reserved__']) {
      expect(await getJson(new URL(`/api/pipelines/${missing}`, dashboard.url).href)).toMatchObject({
        status: 404,
        body: { error: { code: 'E11_UNKNOWN_PIPELINE' } },
      });
    }
    expect(await getJson(new URL('/api/pipelines?status=Done', dashboard.url).href)).toMatchObject({
      status: 400,
      body: { error: { code: 'E11_INVALID_OPTIONS' } },
    });
    expect(await getJson(new URL('/api/pipelines?limit=0', dashboard.url).href)).toMatchObject({
      status: 400,
      body: { error: { code: 'E11_INVALID_OPTIONS' } },
    });
    const post = await fetch(new URL(`/api/pipelines/${pipelineId}`, dashboard.url), { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('on a tenant’s service, lists and serves only that tenant’s pipelines', async () => {
    const acme = await service.forTenant('acme').startPipeline(report, { month: 'Jun' });
    const globex = await service.forTenant('globex').startPipeline(report, { month: 'Jun' });
    const ids = await listedPipelines(acmeOnly);
    expect(ids).toContain(acme.pipelineId);
    expect(ids).not.toContain(globex.pipelineId);
    expect(await getJson(new URL(`/api/pipelines/${acme.pipelineId}`, acmeOnly.url).href)).toMatchObject({
      status: 200,
      body: { pipelineId: acme.pipelineId, tenant: 'acme' },
    });
    // Another tenant's pipeline answers exactly as one that does not exist.
    const other = await getJson(new URL(`/api/pipelines/${globex.pipelineId}`, acmeOnly.url).href);
    expect(other).toEqual({
      status: 404,
      body: { error: { code: 'E11_UNKNOWN_PIPELINE', message: `No pipeline ${globex.pipelineId}.` } },
    });
  });

  it('with authorize, lists and serves only the pipelines whose stage orchestrations the caller may see', async () => {
    const acme = await service.startPipeline(report, { month: 'Jul' }, { tags: { customerId: 'acme' } });
    const globex = await service.startPipeline(report, { month: 'Jul' }, { tags: { customerId: 'globex' } });
    const asAcme = { headers: { 'x-customer-id': 'acme' } };
    const ids = await listedPipelines(scoped, asAcme);
    expect(ids).toContain(acme.pipelineId);
    expect(ids).not.toContain(globex.pipelineId);
    expect(
      await getJson(new URL(`/api/pipelines/${acme.pipelineId}`, scoped.url).href, asAcme),
    ).toMatchObject({
      status: 200,
    });
    expect(
      await getJson(new URL(`/api/pipelines/${globex.pipelineId}`, scoped.url).href, asAcme),
    ).toMatchObject({ status: 403, body: { error: { code: 'E11_FORBIDDEN' } } });
  });
});
