import { afterAll, expect, it } from 'vitest';

import { suiteEmulators, testProjectId } from '../helpers/project.js';

import { soakConfig } from './chaos-config.js';
import { reportText } from './report.js';
import { type ChaosReport, runChaos } from './run-chaos.js';

/** The soak of `npm run chaos` (vitest.chaos.config.ts): minutes and seed from the CLI, via the environment. */
const seed = Number(process.env.E11_CHAOS_SEED);
const minutes = Number(process.env.E11_CHAOS_MINUTES ?? 10);
let report: ChaosReport | undefined;

afterAll(() => {
  if (report) console.log(reportText(report));
});

it(
  `keeps every invariant through a ${minutes}-minute soak (seed ${seed})`,
  async () => {
    report = await runChaos(testProjectId('soak'), suiteEmulators(), soakConfig(seed, minutes));
    expect(report.violations).toEqual([]);
    expect(report).toMatchObject({ lost: 0, duplicates: 0, overlaps: 0, parallelExceeded: 0 });
  },
  (minutes + 10) * 60_000,
);
