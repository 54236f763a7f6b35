import { randomUUID } from 'node:crypto';

import { deterministicUuid, type E11Error, isE11Error, updateIdempotent } from '@e11/core';
import { OrchestrationService } from '@e11/sdk';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { detectCompletion, ensureTopic, runToCompletion, runToFailure } from './helpers/monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';
import { rejection } from './helpers/rejection.js';

const projectId = testProjectId('tenant-scope');
const { firestore, pubsub } = emulatorClients(projectId);
const launcher = new RecordingLauncher();
const operator = new OrchestrationService({
  firestore,
  pubsub,
  launcher,
  launch: { ratePerMinute: 100_000 },
});
const acme = operator.forTenant('acme');
const globex = operator.forTenant('globex');

/** The orchestration ids the launcher was asked to start tasks for. */
function launchedOrchestrations(): string[] {
  return launcher.requests.map((request) => request.env.ORCHESTRATION_ID ?? '');
}

beforeAll(async () => {
  await ensureTopic(pubsub); // kickOffJob checks that its event's topic exists
});

afterAll(async () => {
  await operator.close();
  await pubsub.close();
  await firestore.terminate();
});

describe('idempotency keys are scoped by tenant', () => {
  it("gives tenant B its own orchestration when it reuses tenant A's key with the same job", async () => {
    const key = 'nightly-2026-11-23';
    const first = await acme.kickOffJob('nightly_export', [{ table: 'orders' }], { idempotencyKey: key });
    const second = await globex.kickOffJob('nightly_export', [{ table: 'users' }], { idempotencyKey: key });

    expect(second.deduplicated).toBe(false);
    expect(second.orchestrationId).not.toBe(first.orchestrationId);
    expect(second.launch).toMatchObject({ launched: 1, failed: 0 });
    expect(launchedOrchestrations()).toContain(second.orchestrationId);
    expect(await globex.getOrchestration(second.orchestrationId)).toMatchObject({
      tenant: 'globex',
      total: 1,
    });
    expect((await globex.listJobs(second.orchestrationId)).map((job) => job.params)).toEqual([
      { table: 'users' },
    ]);
    // A's orchestration is untouched: still A's, with A's params.
    expect(await acme.getOrchestration(first.orchestrationId)).toMatchObject({ tenant: 'acme', total: 1 });
    expect((await acme.listJobs(first.orchestrationId)).map((job) => job.params)).toEqual([
      { table: 'orders' },
    ]);
  });

  it("tells tenant B nothing about tenant A's kick-off when B reuses A's key for another job", async () => {
    const key = 'payroll-2026-11';
    await acme.kickOffJob('secret_payroll', [{ n: 1 }, { n: 2 }, { n: 3 }], { idempotencyKey: key });
    const own = await globex.kickOffJob('nightly_export', [{ table: 'users' }], { idempotencyKey: key });
    expect(own.deduplicated).toBe(false);
    expect(await globex.getOrchestration(own.orchestrationId)).toMatchObject({
      tenant: 'globex',
      jobName: 'nightly_export',
    });
  });

  it('still deduplicates a repeated kick-off of the same tenant', async () => {
    const key = 'weekly-2026-48';
    const first = await acme.kickOffJob('nightly_export', [{ table: 'orders' }], { idempotencyKey: key });
    const again = await acme.forTenant('acme').kickOffJob('nightly_export', [{ table: 'orders' }], {
      idempotencyKey: key,
    });
    expect(again).toMatchObject({ orchestrationId: first.orchestrationId, deduplicated: true });
    const different = await rejection(
      acme.kickOffJob('nightly_export', [{ table: 'a' }, { table: 'b' }], { idempotencyKey: key }),
    );
    expect(different.code).toBe('E11_INVALID_OPTIONS');
  });

  it('keeps the id an unscoped kick-off derives from its key', async () => {
    // Ids of unscoped kick-offs made before tenant scoping must stay the ones a retry finds again.
    const key = 'unscoped-stable-key';
    const first = await operator.kickOffJob('nightly_export', [{ table: 'orders' }], { idempotencyKey: key });
    expect(first.orchestrationId).toBe(deterministicUuid(`e11_|idempotency|${key}`));
  });

  it("never returns another tenant's orchestration at the same id as a duplicate, nor describes it", async () => {
    const key = 'collision-key';
    const mine = await globex.kickOffJob('nightly_export', [{ table: 'users' }], { idempotencyKey: key });
    // A crafted collision: the document at the id B's key derives to now belongs to tenant A.
    const ref = firestore.collection('e11_orchestrations').doc(mine.orchestrationId);
    // The same values again on a lost answer (the emulator may answer UNKNOWN to a write it applied).
    await updateIdempotent(ref, { tenant: 'acme', 'tags.tenant': 'acme' });

    const same = await rejection(
      globex.kickOffJob('nightly_export', [{ table: 'users' }], { idempotencyKey: key }),
    );
    expect(same.code).toBe('E11_INVALID_OPTIONS');
    expect(same.message).toMatch(/idempotencyKey already used/);

    await updateIdempotent(ref, { jobName: 'secret_payroll', total: 3 });
    const other = await rejection(
      globex.kickOffJob('nightly_export', [{ table: 'users' }], { idempotencyKey: key }),
    );
    expect(other.code).toBe('E11_INVALID_OPTIONS');
    const told = JSON.stringify({ message: other.message, context: other.context });
    for (const secret of ['secret_payroll', 'acme', '3 ×', '3 x']) expect(told).not.toContain(secret);
  });
});

describe('a tenant-scoped service cannot leave its scope', () => {
  it('refuses to re-scope to another tenant with E11_TENANT_SCOPE', () => {
    let thrown: unknown;
    try {
      acme.forTenant('globex');
    } catch (error) {
      thrown = error;
    }
    expect(isE11Error(thrown)).toBe(true);
    expect((thrown as E11Error).code).toBe('E11_TENANT_SCOPE');
    expect((thrown as E11Error).message).not.toContain('globex');
  });

  it('re-scoping to its own tenant gives an equivalent scoped service', async () => {
    const same = acme.forTenant('acme');
    const result = await same.kickOffJob('nightly_export', [{ table: 'orders' }]);
    expect(await acme.getOrchestration(result.orchestrationId)).toMatchObject({ tenant: 'acme' });
    const foreign = await globex.kickOffJob('nightly_export', [{ table: 'users' }]);
    expect((await rejection(same.getOrchestration(foreign.orchestrationId))).code).toBe(
      'E11_UNKNOWN_ORCHESTRATION',
    );
  });

  it('exposes no unscoped handle: no store, Firestore or Pub/Sub client, launcher or options', () => {
    const seen = new Set<unknown>();
    const handles: string[] = [];
    // Everything reachable through the object's properties (own and inherited getters), two levels deep.
    const visit = (value: unknown, path: string, depth: number) => {
      if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return;
      if (seen.has(value)) return;
      seen.add(value);
      if (
        value instanceof Firestore ||
        value instanceof PubSub ||
        value === launcher ||
        (typeof value === 'object' && 'collections' in value)
      ) {
        handles.push(path);
        return;
      }
      if (depth === 0 || typeof value === 'function') return;
      const names = new Set<string>(Object.getOwnPropertyNames(value));
      for (let proto = Object.getPrototypeOf(value) as object | null; proto && proto !== Object.prototype;) {
        for (const name of Object.getOwnPropertyNames(proto)) names.add(name);
        proto = Object.getPrototypeOf(proto) as object | null;
      }
      for (const name of names) {
        if (name === 'constructor' || name === 'logger') continue;
        let child: unknown;
        try {
          child = (value as Record<string, unknown>)[name];
        } catch {
          continue;
        }
        visit(child, `${path}.${name}`, depth - 1);
      }
    };
    visit(acme, 'acme', 2);
    expect(handles).toEqual([]);
    const loose = acme as unknown as Record<string, unknown>;
    for (const name of ['store', 'taskLauncher', 'launcher', 'pubsub', 'options', 'firestore']) {
      expect(loose[name]).toBeUndefined();
    }
  });

  it('refuses a sweep, which would act on every tenant, with E11_TENANT_SCOPE', async () => {
    expect((await rejection(acme.sweep())).code).toBe('E11_TENANT_SCOPE');
  });

  it("answers every id-based call on another tenant's orchestration exactly as for an unknown id", async () => {
    const theirs = await acme.kickOffJob('nightly_export', [{ table: 'orders' }]);
    const jobId = theirs.jobIds[0] as string;
    const unknown = randomUUID();
    const calls: [string, (id: string) => Promise<unknown>][] = [
      ['getOrchestration', (id) => globex.getOrchestration(id)],
      ['getJob', (id) => globex.getJob(id, jobId)],
      ['listJobs', (id) => globex.listJobs(id)],
      ['getJobResults', (id) => globex.getJobResults(id, { timeoutMs: 1_000 })],
      ['cancel', (id) => globex.cancel(id)],
      ['retryFailed', (id) => globex.retryFailed(id)],
      ['discard', (id) => globex.discard(id)],
      ['listDeadLetters', (id) => globex.listDeadLetters({ orchestrationId: id })],
    ];
    for (const [name, call] of calls) {
      const foreign = await rejection(call(theirs.orchestrationId));
      const missing = await rejection(call(unknown));
      const shape = (error: E11Error, id: string) => ({
        code: error.code,
        message: error.message.replaceAll(id, '<id>'),
      });
      expect({ name, ...shape(foreign, theirs.orchestrationId) }).toEqual({
        name,
        ...shape(missing, unknown),
      });
      expect(foreign.code).toBe('E11_UNKNOWN_ORCHESTRATION');
    }
    expect((await acme.getOrchestration(theirs.orchestrationId)).status).toBe('InProgress');
  });
});

describe("a tenant's lists, maintenance and schedules are its own", () => {
  it("keeps another tenant's dead letters, metrics and old orchestrations out of reach", async () => {
    // Tenant A's orchestration from 40 days ago, ended Errored with one dead-lettered job.
    const pastClock = { now: () => Date.now() - 40 * 86_400_000 };
    const past = new OrchestrationService({ firestore, pubsub, launcher, clock: pastClock });
    const pastStore = storeFor(firestore, { clock: pastClock });
    try {
      const old = await past.forTenant('acme').kickOffJob('payroll_export', [{ n: 1 }, { n: 2 }]);
      await runToCompletion(pastStore, old.orchestrationId, old.jobIds[0] as string);
      await runToFailure(pastStore, old.orchestrationId, old.jobIds[1] as string);
      await detectCompletion(pastStore, pubsub, old.orchestrationId);
      const recent = await acme.kickOffJob('acme_only_job', [{ n: 1 }]);

      expect((await globex.listDeadLetters()).map((entry) => entry.orchestrationId)).not.toContain(
        old.orchestrationId,
      );
      expect((await acme.listDeadLetters()).map((entry) => entry.orchestrationId)).toContain(
        old.orchestrationId,
      );
      expect(Object.keys((await globex.getMetrics()).jobs)).not.toContain('acme_only_job');
      expect(Object.keys((await operator.getMetrics()).jobs)).toContain('acme_only_job');
      expect(JSON.stringify(await globex.listOrchestrations({ limit: 500 }))).not.toContain(
        recent.orchestrationId,
      );

      const theirs = await globex.deleteOrchestrationsOlderThan(30);
      expect(theirs.deleted).toEqual([]);
      expect((await acme.getOrchestration(old.orchestrationId)).status).toBe('Errored');
      // The orchestration was eligible: its own tenant's pass deletes it.
      expect((await acme.deleteOrchestrationsOlderThan(30)).deleted).toEqual([old.orchestrationId]);
    } finally {
      await past.close();
    }
  });

  it("answers every call on another tenant's schedule exactly as for an unknown schedule", async () => {
    await acme.schedules.upsert({
      name: 'acme-payroll',
      cron: '0 3 * * *',
      jobName: 'payroll_export',
      params: [{ n: 1 }],
    });
    const calls: [string, (name: string) => Promise<unknown>][] = [
      ['get', (name) => globex.schedules.get(name)],
      ['pause', (name) => globex.schedules.pause(name)],
      ['resume', (name) => globex.schedules.resume(name)],
      ['trigger', (name) => globex.schedules.trigger(name, { force: true })],
      ['runs', (name) => globex.schedules.runs(name)],
      ['remove', (name) => globex.schedules.remove(name)],
    ];
    for (const [name, call] of calls) {
      const foreign = await rejection(call('acme-payroll'));
      const missing = await rejection(call('no-such-schedule'));
      expect({
        name,
        code: foreign.code,
        message: foreign.message.replaceAll('acme-payroll', '<name>'),
      }).toEqual({
        name,
        code: missing.code,
        message: missing.message.replaceAll('no-such-schedule', '<name>'),
      });
      expect(foreign.code).toBe('E11_UNKNOWN_SCHEDULE');
    }
    expect((await globex.schedules.list()).map((schedule) => schedule.name)).not.toContain('acme-payroll');
    expect(await acme.schedules.get('acme-payroll')).toMatchObject({ enabled: true });
    expect(await acme.schedules.runs('acme-payroll')).toEqual([]);
  });
});
