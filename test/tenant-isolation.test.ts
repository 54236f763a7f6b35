import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createSseHandler, OrchestrationService } from '@e11/sdk';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureTopic } from './helpers/monitoring.js';
import { emulatorClients, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';
import { rejection } from './helpers/rejection.js';

const projectId = testProjectId('tenants');
const { firestore, pubsub } = emulatorClients(projectId);
const operator = new OrchestrationService({
  firestore,
  pubsub,
  launcher: new RecordingLauncher(),
  launch: { ratePerMinute: 100_000 },
});
const acme = operator.forTenant('acme');
const globex = operator.forTenant('globex');
let acmeId: string;
let acmeJobId: string;
let server: Server;

beforeAll(async () => {
  await ensureTopic(pubsub); // kickOffJob checks that its event's topic exists
  const result = await acme.kickOffJob('nightly_export', [{ table: 'orders' }, { table: 'invoices' }], {
    tags: { region: 'eu' },
  });
  acmeId = result.orchestrationId;
  acmeJobId = result.jobIds[0] as string;
  await globex.kickOffJob('nightly_export', [{ table: 'users' }]);
  server = createServer(createSseHandler(globex, { authorize: () => true }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await pubsub.close();
  await firestore.terminate();
});

describe('tenant isolation', () => {
  it('stamps a tenant-scoped kick-off with its tenant, also as a tag of its event', async () => {
    expect(await acme.getOrchestration(acmeId)).toMatchObject({
      tenant: 'acme',
      tags: { region: 'eu', tenant: 'acme' },
    });
  });

  it("answers every read of another tenant's orchestration as if it did not exist", async () => {
    expect((await rejection(globex.getOrchestration(acmeId))).code).toBe('E11_UNKNOWN_ORCHESTRATION');
    expect((await rejection(globex.getJob(acmeId, acmeJobId))).code).toBe('E11_UNKNOWN_ORCHESTRATION');
    expect((await rejection(globex.listJobs(acmeId))).code).toBe('E11_UNKNOWN_ORCHESTRATION');
    expect((await rejection(globex.getJobResults(acmeId, { timeoutMs: 1_000 }))).code).toBe(
      'E11_UNKNOWN_ORCHESTRATION',
    );
    expect((await rejection(globex.cancel(acmeId))).code).toBe('E11_UNKNOWN_ORCHESTRATION');
    expect((await rejection(globex.retryFailed(acmeId))).code).toBe('E11_UNKNOWN_ORCHESTRATION');
    expect((await rejection(firstValueFrom(globex.watch(acmeId)))).code).toBe('E11_UNKNOWN_ORCHESTRATION');
    expect((await acme.getOrchestration(acmeId)).status).toBe('InProgress');
  });

  it("keeps other tenants' orchestrations out of history, metrics and dead letters", async () => {
    const page = await globex.listOrchestrations({ limit: 50 });
    expect(page.items.map((item) => item.tenant)).toEqual(['globex']);
    const own = await acme.listOrchestrations({ limit: 50 });
    expect(own.items.map((item) => item.id)).toEqual([acmeId]);
    const all = await operator.listOrchestrations({ limit: 50 });
    expect(all.items).toHaveLength(2);
    const metrics = await globex.getMetrics();
    expect(JSON.stringify(metrics)).not.toContain(acmeId);
    expect(await globex.listDeadLetters()).toEqual([]);
  });

  it("refuses an SSE stream of another tenant's orchestration with 404", async () => {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/orchestrations/${acmeId}/events`);
    expect(response.status).toBe(404);
    await response.body?.cancel();
  });

  it('rejects a malformed tenant id with E11_INVALID_OPTIONS', () => {
    expect(() => operator.forTenant('no spaces allowed')).toThrow(
      expect.objectContaining({ code: 'E11_INVALID_OPTIONS' }),
    );
  });
});
