import { checkCompletion, type Clock, type Store } from '@e11/core';
import { OrchestrationService, type OrchestrationInfo } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  detectCompletion,
  ensureTopic,
  monitoringService,
  runToCompletion,
  runToFailure,
} from './helpers/monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';
import { rejection } from './helpers/rejection.js';

const projectId = testProjectId('monitoring-history');
const { firestore, pubsub } = emulatorClients(projectId);
const services: OrchestrationService[] = [];
const stores = new Map<OrchestrationService, Store>();
let prefixes = 0;

/** A service with a collection prefix of its own (so counts are exact), optionally on a given clock. */
function freshService(clock?: Clock, prefix = `h${++prefixes}_`) {
  const service = clock
    ? new OrchestrationService({
        firestore,
        pubsub,
        clock,
        launcher: new RecordingLauncher(),
        collectionPrefix: prefix,
        launch: { ratePerMinute: 100_000 },
      })
    : monitoringService(firestore, pubsub, prefix);
  services.push(service);
  stores.set(service, storeFor(firestore, { collectionPrefix: prefix, clock }));
  return service;
}

/** The store of a service built by freshService: its prefix and clock, over the test's client. */
function storeOf(service: OrchestrationService): Store {
  const store = stores.get(service);
  if (!store) throw new Error('not a freshService');
  return store;
}

beforeAll(() => ensureTopic(pubsub));
afterAll(async () => {
  await Promise.all(services.map((service) => service.close()));
  await firestore.terminate();
  await pubsub.close();
});

describe('listOrchestrations', () => {
  it('pages through every orchestration newest first with a cursor, even when creation times are equal', async () => {
    // Three orchestrations share one creation instant: the id breaks the tie, so no page repeats or skips one.
    let nowMs = Date.UTC(2030, 0, 1);
    const service = freshService({ now: () => nowMs });
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      if (i !== 2 && i !== 3) nowMs += 1_000;
      created.push((await service.kickOffJob('process_batch', [{ i }])).orchestrationId);
    }
    const pages: OrchestrationInfo[][] = [];
    let cursor: string | null = null;
    do {
      const page = await service.listOrchestrations({ limit: 3, cursor });
      pages.push(page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    const listed = pages.flat();
    expect(new Set(listed.map((item) => item.id)).size).toBe(7);
    expect(listed.map((item) => item.id).sort()).toEqual([...created].sort());
    const times = listed.map((item) => item.createdAt.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('returns a null cursor when the page is not full and an empty page for an empty history', async () => {
    const service = freshService();
    expect(await service.listOrchestrations()).toEqual({ items: [], nextCursor: null });
    await service.kickOffJob('process_batch', [{ a: 1 }]);
    const page = await service.listOrchestrations({ limit: 1 });
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).toBeNull();
  });

  it('filters by job name, status, tag and creation time', async () => {
    let nowMs = Date.UTC(2031, 0, 1);
    const service = freshService({ now: () => nowMs });
    const store = storeOf(service);
    const acme = await service.kickOffJob('process_batch', [{ a: 1 }], {
      tags: { customerId: 'acme', 'team.name': 'x' },
    });
    nowMs += 60_000;
    const globex = await service.kickOffJob('process_batch', [{ a: 2 }], { tags: { customerId: 'globex' } });
    nowMs += 60_000;
    const report = await service.kickOffJob('make_report', [{ a: 3 }], { tags: { customerId: 'acme' } });
    await runToFailure(store, globex.orchestrationId, globex.jobIds[0] as string);
    await detectCompletion(store, pubsub, globex.orchestrationId);

    const ids = async (options: Parameters<OrchestrationService['listOrchestrations']>[0]) =>
      (await service.listOrchestrations(options)).items.map((item) => item.id);
    expect(await ids({ jobName: 'process_batch' })).toEqual([globex.orchestrationId, acme.orchestrationId]);
    expect(await ids({ status: 'Errored' })).toEqual([globex.orchestrationId]);
    expect(await ids({ status: ['InProgress', 'Errored'] })).toEqual([
      report.orchestrationId,
      globex.orchestrationId,
      acme.orchestrationId,
    ]);
    expect(await ids({ tag: { key: 'customerId', value: 'acme' } })).toEqual([
      report.orchestrationId,
      acme.orchestrationId,
    ]);
    expect(await ids({ tag: { key: 'team.name', value: 'x' } })).toEqual([acme.orchestrationId]);
    expect(await ids({ jobName: 'process_batch', tag: { key: 'customerId', value: 'acme' } })).toEqual([
      acme.orchestrationId,
    ]);
    expect(await ids({ createdAfter: new Date(Date.UTC(2031, 0, 1) + 30_000) })).toEqual([
      report.orchestrationId,
      globex.orchestrationId,
    ]);
  });

  it('shows live counts from the counter shards for unfinished orchestrations, stored counts with liveCounts: false', async () => {
    const service = freshService();
    const { orchestrationId, jobIds } = await service.kickOffJob('process_batch', [{ a: 1 }, { a: 2 }]);
    await runToCompletion(storeOf(service), orchestrationId, jobIds[0] as string);
    const [live] = (await service.listOrchestrations()).items;
    expect(live?.counts).toMatchObject({ completed: 1, pending: 1 });
    expect(live?.progress).toBe(0.5);
    const [stored] = (await service.listOrchestrations({ liveCounts: false })).items;
    expect(stored?.counts).toMatchObject({ completed: 0, pending: 2 });
  });

  it('refuses a malformed cursor and a cursor from other filters with E11_INVALID_CURSOR', async () => {
    const service = freshService();
    for (let i = 0; i < 3; i++) await service.kickOffJob('process_batch', [{ i }]);
    const { nextCursor } = await service.listOrchestrations({ limit: 1 });
    expect(nextCursor).not.toBeNull();
    for (const cursor of ['not-a-cursor', 'eyJ2IjoxfQ', '%%%']) {
      expect((await rejection(service.listOrchestrations({ cursor }))).code).toBe('E11_INVALID_CURSOR');
    }
    const other = await rejection(
      service.listOrchestrations({ limit: 1, cursor: nextCursor, jobName: 'other' }),
    );
    expect(other.code).toBe('E11_INVALID_CURSOR');
    expect(other.message).toContain('other filters');
  });

  it('refuses bad options with E11_INVALID_OPTIONS naming the field', async () => {
    const service = freshService();
    for (const [options, path] of [
      [{ limit: 0 }, 'limit'],
      [{ limit: 501 }, 'limit'],
      [{ limit: 1.5 }, 'limit'],
      [{ status: 'Done' }, 'status'],
      [{ tag: { key: '', value: 'x' } }, 'tag'],
      [{ createdAfter: new Date('nope') }, 'createdAfter'],
    ] as const) {
      const error = await rejection(service.listOrchestrations(options as never));
      expect(error.code).toBe('E11_INVALID_OPTIONS');
      expect(error.context.path).toBe(path);
    }
  });
});

describe('deleteOrchestrationsOlderThan (retention)', () => {
  it('deletes ended orchestrations older than N days with everything under them, and keeps the rest', async () => {
    const prefix = `r${++prefixes}_`;
    const past = freshService({ now: () => Date.now() - 40 * 86_400_000 }, prefix);
    const today = freshService(undefined, prefix);
    const old = await past.kickOffJob('process_batch', [{ a: 1 }, { a: 2 }]);
    for (const jobId of old.jobIds) await runToCompletion(storeOf(past), old.orchestrationId, jobId);
    await detectCompletion(storeOf(past), pubsub, old.orchestrationId);
    const oldRunning = await past.kickOffJob('process_batch', [{ a: 3 }]);
    // Ended, but its event could not be published yet: the sweeper still needs it.
    const unpublished = await past.kickOffJob('process_batch', [{ a: 4 }]);
    await runToCompletion(storeOf(past), unpublished.orchestrationId, unpublished.jobIds[0] as string);
    await expect(
      checkCompletion(
        { store: storeOf(past), publisher: { publish: () => Promise.reject(new Error('pubsub down')) } },
        unpublished.orchestrationId,
      ),
    ).rejects.toThrow('pubsub down');
    const recent = await today.kickOffJob('process_batch', [{ a: 5 }]);
    await runToCompletion(storeOf(today), recent.orchestrationId, recent.jobIds[0] as string);
    await detectCompletion(storeOf(today), pubsub, recent.orchestrationId);

    const dry = await today.deleteOrchestrationsOlderThan(30, { dryRun: true });
    expect(dry).toMatchObject({ deleted: [old.orchestrationId], kept: 2, dryRun: true, more: false });
    expect((await storeOf(today).collections.orchestration(old.orchestrationId).get()).exists).toBe(true);

    const report = await today.deleteOrchestrationsOlderThan(30);
    expect(report).toMatchObject({ deleted: [old.orchestrationId], kept: 2, dryRun: false });
    expect(report.cutoff.getTime()).toBeLessThan(Date.now() - 29 * 86_400_000);
    const { collections } = storeOf(today);
    expect((await collections.orchestration(old.orchestrationId).get()).exists).toBe(false);
    expect((await collections.jobs(old.orchestrationId).count().get()).data().count).toBe(0);
    expect((await collections.counters(old.orchestrationId).count().get()).data().count).toBe(0);
    expect((await collections.completions(old.orchestrationId).count().get()).data().count).toBe(0);
    const left = (await today.listOrchestrations()).items.map((item) => item.id).sort();
    expect(left).toEqual(
      [oldRunning.orchestrationId, unpublished.orchestrationId, recent.orchestrationId].sort(),
    );
    expect((await today.getOrchestration(recent.orchestrationId)).status).toBe('Completed');
  });

  it('stops at limit and says there is more', async () => {
    const prefix = `r${++prefixes}_`;
    const past = freshService({ now: () => Date.now() - 10 * 86_400_000 }, prefix);
    const today = freshService(undefined, prefix);
    for (let i = 0; i < 3; i++) {
      const { orchestrationId, jobIds } = await past.kickOffJob('process_batch', [{ i }]);
      await runToCompletion(storeOf(past), orchestrationId, jobIds[0] as string);
      await detectCompletion(storeOf(past), pubsub, orchestrationId);
    }
    expect(await today.deleteOrchestrationsOlderThan(7, { limit: 2 })).toMatchObject({ more: true });
    expect((await today.deleteOrchestrationsOlderThan(7, { limit: 2 })).deleted).toHaveLength(1);
    expect((await today.listOrchestrations()).items).toEqual([]);
  });

  it('refuses a non-positive number of days', async () => {
    const service = freshService();
    for (const days of [0, -1, Number.NaN]) {
      expect((await rejection(service.deleteOrchestrationsOlderThan(days))).code).toBe('E11_INVALID_OPTIONS');
    }
  });
});

describe('listDeadLetters', () => {
  it('lists dead-lettered jobs with sensitive params redacted, and drops them once discarded', async () => {
    const service = freshService();
    const store = storeOf(service);
    const one = await service.kickOffJob(
      'process_batch',
      [
        { file: 'a.csv', token: 't1' },
        { file: 'b.csv', token: 't2' },
      ],
      {
        sensitiveKeys: ['token'],
      },
    );
    const two = await service.kickOffJob('make_report', [{ month: 'May' }]);
    await runToFailure(store, one.orchestrationId, one.jobIds[1] as string, 'bad row 7', 'E11_JOB_FAILED');
    await runToCompletion(store, one.orchestrationId, one.jobIds[0] as string);
    await detectCompletion(store, pubsub, one.orchestrationId);
    await runToFailure(store, two.orchestrationId, two.jobIds[0] as string, 'no data');

    const ofOne = await service.listDeadLetters({ orchestrationId: one.orchestrationId });
    expect(ofOne).toEqual([
      expect.objectContaining({
        orchestrationId: one.orchestrationId,
        jobId: one.jobIds[1],
        index: 1,
        params: { file: 'b.csv', token: '[REDACTED]' },
        error: expect.objectContaining({ message: 'bad row 7', code: 'E11_JOB_FAILED' }) as unknown,
        attempts: 1,
      }),
    ]);
    const all = await service.listDeadLetters();
    expect(all.map((entry) => entry.jobId).sort()).toEqual([one.jobIds[1], two.jobIds[0]].sort());
    expect((await service.listDeadLetters({ jobName: 'make_report' })).map((entry) => entry.jobId)).toEqual([
      two.jobIds[0],
    ]);

    await service.discard(one.orchestrationId);
    expect(await service.listDeadLetters({ orchestrationId: one.orchestrationId })).toEqual([]);
    expect((await rejection(service.listDeadLetters({ orchestrationId: 'missing' }))).code).toBe(
      'E11_UNKNOWN_ORCHESTRATION',
    );
  });
});
