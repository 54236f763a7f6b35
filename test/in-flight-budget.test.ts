import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { OrchestrationService } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type LedgerEntry, ledgerEntries, mostAtOnce, readLedger, runningTime } from './helpers/ledger.js';
import { stackService } from './helpers/project.js';
import { eventWithin, useRunnerStack } from './helpers/runner-stack.js';

const suite = useRunnerStack('in-flight-budget', {
  cloudRunJobs: ['ledgered'],
  // Room for more tasks at once than the budget: the limit is E11's, not the emulator's.
  cloudRunOptions: { maxConcurrentTasks: 14 },
});
const dir = mkdtempSync(join(tmpdir(), 'e11-in-flight-'));
let regional: OrchestrationService;

beforeAll(() => {
  // Another backend of the same project and region, with a region-wide cap of 8 jobs in flight.
  regional = stackService(suite.stack, suite.base, {
    launch: { maxExecutionsInFlight: 8, ratePerMinute: 6_000 },
  });
});

afterAll(async () => {
  await regional.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `count` ledgered jobs writing to `ledger`. */
function ledgeredParams(ledger: string, count: number, ms: number) {
  return Array.from({ length: count }, (_, index) => ({ ledger, ms, index }));
}

describe("the region's executions-in-flight budget", () => {
  it('shares 8 slots between two tenants on keys of 5: no limit exceeded, each tenant at least 40% while both wait', async () => {
    const tenants = ['acme', 'globex'] as const;
    const ledgers = Object.fromEntries(
      tenants.map((tenant) => [tenant, [0, 1].map((n) => join(dir, `${tenant}-${n}.txt`))]),
    ) as Record<(typeof tenants)[number], string[]>;
    // acme first, with all its work: it holds its key's 5 slots before globex arrives with its own.
    const kickOffs = [];
    for (const tenant of tenants) {
      const service = regional.forTenant(tenant);
      for (const ledger of ledgers[tenant]) {
        kickOffs.push(
          await service.kickOffJob('ledgered', ledgeredParams(ledger, 8, 4_000), {
            concurrency: { key: 'reporting-db', limit: 5 },
          }),
        );
      }
    }
    for (const { orchestrationId } of kickOffs) {
      expect(await eventWithin(suite, orchestrationId, 240_000)).toMatchObject({
        status: 'Completed',
        succeeded: 8,
      });
    }
    for (const ledger of Object.values(ledgers).flat()) {
      expect([...readLedger(ledger).starts.values()]).toEqual(Array.from({ length: 8 }, () => 1));
    }
    const byTenant = Object.fromEntries(
      tenants.map((tenant) => [tenant, ledgers[tenant].flatMap((ledger) => ledgerEntries(ledger))]),
    ) as Record<(typeof tenants)[number], LedgerEntry[]>;
    // Never above a key's limit, nor above the region's cap, measured from what the jobs wrote.
    for (const tenant of tenants) expect(mostAtOnce(byTenant[tenant])).toBeLessThanOrEqual(5);
    expect(mostAtOnce([...byTenant.acme, ...byTenant.globex])).toBeLessThanOrEqual(8);
    // While both had jobs still to start: each tenant's share of the job-time run, at least 40%.
    const lastStart = (entries: LedgerEntry[]) =>
      Math.max(...entries.filter((entry) => entry.kind === 'start').map((entry) => entry.at));
    const firstStart = (entries: LedgerEntry[]) =>
      Math.min(...entries.filter((entry) => entry.kind === 'start').map((entry) => entry.at));
    const from = Math.max(...tenants.map((tenant) => firstStart(byTenant[tenant])));
    const to = Math.min(...tenants.map((tenant) => lastStart(byTenant[tenant])));
    expect(to).toBeGreaterThan(from);
    const time = tenants.map((tenant) => runningTime(byTenant[tenant], from, to));
    const total = time.reduce((sum, t) => sum + t, 0);
    for (const t of time) expect(t / total).toBeGreaterThanOrEqual(0.4);
  }, 300_000);

  it('admits an orchestration without a key through the budget: the jobs beyond it wait for quota', async () => {
    const ledger = join(dir, 'unkeyed.txt');
    // A region of its own: the first test's budget (its late rounds in the completion function may
    // still run) would otherwise admit these jobs before this kick-off's own round.
    const capped = stackService(suite.stack, suite.base, {
      region: 'europe-west4',
      launch: { maxExecutionsInFlight: 3, ratePerMinute: 6_000 },
    });
    try {
      const { orchestrationId, jobIds, launch, waiting } = await capped.kickOffJob(
        'ledgered',
        ledgeredParams(ledger, 9, 400),
      );
      expect(launch).toMatchObject({ launched: 3 });
      expect(waiting).toBe(6);
      const last = await capped.getJob(orchestrationId, jobIds[8] as string);
      expect(last).toMatchObject({ status: 'Pending', waiting: 'quota' });
      expect(await eventWithin(suite, orchestrationId, 120_000)).toMatchObject({
        status: 'Completed',
        succeeded: 9,
      });
      const { most, starts } = readLedger(ledger);
      expect(most).toBeLessThanOrEqual(3);
      expect([...starts.values()]).toEqual(Array.from({ length: 9 }, () => 1));
    } finally {
      await capped.close();
    }
  }, 180_000);
});
