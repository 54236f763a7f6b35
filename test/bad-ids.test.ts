import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createDashboardServer, type DashboardServer } from '@e11/cli';
import { createLogger, isE11Error, loadJob, loadOrchestration } from '@e11/core';
import { createSseHandler, OrchestrationService } from '@e11/sdk';
import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureIo } from './helpers/capture.js';
import { ensureTopic } from './helpers/monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';

const { runCli } = await import('@e11/cli');

// Every public method that takes an orchestration or job id, called with ids that cannot be Firestore
// document ids: each answers with a typed E11 error (never a raw Firestore error) and writes nothing.
const projectId = testProjectId('bad-ids');
const { firestore, pubsub } = emulatorClients(projectId);
/** A service on the file's clients (injected clients stay open when the CLI closes its service). */
const newService = () =>
  new OrchestrationService({
    firestore,
    pubsub,
    launcher: new RecordingLauncher(),
    launch: { ratePerMinute: 100_000 },
    logger: createLogger('bad-ids', { level: 'silent' }),
  });
const service = newService();
const BAD_IDS = ['', '.', '..', '__x__', 'no/such id', '/', 'a/b/c', 'é'.repeat(751)];
let orchestrationId: string;
let jobId: string;
let sse: Server;
let dashboard: DashboardServer;

beforeAll(async () => {
  await ensureTopic(pubsub);
  const kickOff = await service.kickOffJob('nightly_export', [{ table: 'orders' }, { table: 'invoices' }]);
  orchestrationId = kickOff.orchestrationId;
  jobId = kickOff.jobIds[0] as string;
  sse = createServer(createSseHandler(service, { authorize: () => true }));
  await new Promise<void>((resolve) => sse.listen(0, '127.0.0.1', resolve));
  dashboard = await createDashboardServer(service, { port: 0 });
});

afterAll(async () => {
  await dashboard.close();
  await new Promise((resolve) => sse.close(resolve));
  await service.close();
  await pubsub.close();
  await firestore.terminate();
});

/** Every document of the project with its update time: a write anywhere changes it. */
async function everything(db: Firestore): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const walk = async (refs: DocumentReference[]) => {
    const snapshots = refs.length === 0 ? [] : await db.getAll(...refs);
    for (const snapshot of snapshots) {
      found.set(snapshot.ref.path, snapshot.updateTime?.toDate().toISOString() ?? 'missing');
    }
    for (const ref of refs) {
      for (const collection of await ref.listCollections()) await walk(await collection.listDocuments());
    }
  };
  for (const collection of await db.listCollections()) await walk(await collection.listDocuments());
  return found;
}

/** The code of the E11 error `call` rejects (or throws) with; anything else fails the test. */
async function codeOf(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (error) {
    if (isE11Error(error)) return error.code;
    throw new Error(`not an E11Error: ${String(error)}`, { cause: error });
  }
  return 'resolved';
}

/** GET or POST `path` verbatim (no URL normalisation); resolves with the status and the error code. */
function http(port: number, path: string, method = 'GET'): Promise<{ status: number; code: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, headers: { host: 'localhost', 'x-e11-dashboard': '1' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const parsed = JSON.parse(body) as { error?: { code?: unknown } };
          resolve({ status: res.statusCode ?? 0, code: parsed.error?.code });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('ids that cannot be document ids', () => {
  it('are unknown orchestrations or jobs for every public method, and nothing is written', async () => {
    const before = await everything(firestore);
    const store = storeFor(firestore);
    const calls: [string, (bad: string) => Promise<unknown>, string][] = [
      ['getOrchestration', (bad) => service.getOrchestration(bad), 'E11_UNKNOWN_ORCHESTRATION'],
      ['getJob(orchestrationId)', (bad) => service.getJob(bad, jobId), 'E11_UNKNOWN_ORCHESTRATION'],
      ['getJob(jobId)', (bad) => service.getJob(orchestrationId, bad), 'E11_UNKNOWN_JOB'],
      ['listJobs', (bad) => service.listJobs(bad), 'E11_UNKNOWN_ORCHESTRATION'],
      [
        'getJobResults',
        (bad) => service.getJobResults(bad, { timeoutMs: 2_000 }),
        'E11_UNKNOWN_ORCHESTRATION',
      ],
      ['cancel', (bad) => service.cancel(bad), 'E11_UNKNOWN_ORCHESTRATION'],
      ['retryFailed', (bad) => service.retryFailed(bad), 'E11_UNKNOWN_ORCHESTRATION'],
      [
        'retryFailed(jobIds)',
        (bad) => service.retryFailed(orchestrationId, { jobIds: [jobId, bad] }),
        'E11_UNKNOWN_JOB',
      ],
      ['discard', (bad) => service.discard(bad), 'E11_UNKNOWN_ORCHESTRATION'],
      ['discard(jobIds)', (bad) => service.discard(orchestrationId, { jobIds: [bad] }), 'E11_UNKNOWN_JOB'],
      ['watch', (bad) => firstValueFrom(service.watch(bad)), 'E11_UNKNOWN_ORCHESTRATION'],
      ['watchJobs', (bad) => firstValueFrom(service.watchJobs(bad)), 'E11_UNKNOWN_ORCHESTRATION'],
      ['loadOrchestration', (bad) => loadOrchestration(store, bad), 'E11_UNKNOWN_ORCHESTRATION'],
      ['loadJob', (bad) => loadJob(store, orchestrationId, bad), 'E11_UNKNOWN_JOB'],
      [
        'listDeadLetters',
        (bad) => service.listDeadLetters({ orchestrationId: bad }),
        'E11_UNKNOWN_ORCHESTRATION',
      ],
    ];
    const answers: string[] = [];
    const expected: string[] = [];
    for (const [name, call, code] of calls) {
      for (const bad of BAD_IDS) {
        const shown = `${name}(${JSON.stringify(bad.slice(0, 12))})`;
        answers.push(`${shown} → ${await codeOf(() => call(bad))}`);
        expected.push(`${shown} → ${code}`);
      }
    }
    expect(answers).toEqual(expected);
    expect(await everything(firestore)).toEqual(before);
  });

  it('are 404 unknown orchestrations on the SSE route and the dashboard API, and nothing is written', async () => {
    const before = await everything(firestore);
    const ssePort = (sse.address() as AddressInfo).port;
    const dashboardPort = Number(new URL(dashboard.url).port);
    // Ids as a path segment can carry: '/' percent-encoded; '.' and '..' would be dot segments.
    const ids = ['__x__', 'no/such id', 'a/b/c', 'é'.repeat(751), '%E0%A4%A'];
    const answers: string[] = [];
    const expected: string[] = [];
    for (const bad of ids) {
      const segment = bad === '%E0%A4%A' ? bad : encodeURIComponent(bad);
      const routes: [string, number, string, string][] = [
        ['sse', ssePort, `/orchestrations/${segment}/events`, 'GET'],
        ['dashboard', dashboardPort, `/api/orchestrations/${segment}`, 'GET'],
        ['dashboard', dashboardPort, `/api/orchestrations/${segment}/failures`, 'GET'],
        ['dashboard', dashboardPort, `/api/orchestrations/${segment}/retry`, 'POST'],
        ['dashboard', dashboardPort, `/api/orchestrations/${segment}/events`, 'GET'],
      ];
      for (const [name, port, path, method] of routes) {
        const { status, code } = await http(port, path, method);
        const route = `${name} ${method} ${path.replace(segment, JSON.stringify(bad.slice(0, 12)))}`;
        answers.push(`${route} → ${status} ${String(code)}`);
        expected.push(`${route} → 404 E11_UNKNOWN_ORCHESTRATION`);
      }
    }
    expect(answers).toEqual(expected);
    expect(await everything(firestore)).toEqual(before);
  });

  it('are unknown orchestrations or jobs for every CLI command that takes an id, and nothing is written', async () => {
    const before = await everything(firestore);
    const commands: [string[], string][] = [
      [['status', 'no/such id'], 'E11_UNKNOWN_ORCHESTRATION'],
      [['watch', '__x__'], 'E11_UNKNOWN_ORCHESTRATION'],
      [['results', '..'], 'E11_UNKNOWN_ORCHESTRATION'],
      [['retry', 'a/b'], 'E11_UNKNOWN_ORCHESTRATION'],
      [['cancel', '.'], 'E11_UNKNOWN_ORCHESTRATION'],
      [['dlq', 'retry', '__x__'], 'E11_UNKNOWN_ORCHESTRATION'],
      [['dlq', 'discard', 'no/such id'], 'E11_UNKNOWN_ORCHESTRATION'],
      [['dlq', 'list', '--orchestration', 'no/such id'], 'E11_UNKNOWN_ORCHESTRATION'],
    ];
    const answers: string[] = [];
    const expected: string[] = [];
    for (const [argv, code] of commands) {
      const io = captureIo();
      const exit = await runCli(argv, io, newService);
      answers.push(
        `e11 ${argv.join(' ')} → ${exit} ${/\((E11_[A-Z_]+)\)/.exec(io.stderr.text)?.[1] ?? io.stderr.text}`,
      );
      expected.push(`e11 ${argv.join(' ')} → 3 ${code}`);
    }
    expect(answers).toEqual(expected);
    expect(await everything(firestore)).toEqual(before);
  });
});
