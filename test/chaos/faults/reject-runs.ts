import type { Fault } from './fault.js';

/** Cloud Run refuses every RunJob call for a while: the quota (429) or an outage (503). */
export const rejectRuns: Fault = {
  name: 'reject-runs',
  inject({ chaos, random, config }) {
    const ms = random.int(500, config.quotaWindowMaxMs);
    const code = random.chance(0.7) ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE';
    chaos.stack.cloudRun.faults.rejectRunsFor(ms, code);
    return Promise.resolve(`RunJob answers ${code} for ${ms} ms`);
  },
};
