import { FieldPath } from '@google-cloud/firestore';

import { type JobPricing, priceTaskSeconds } from '../cost/pricing.js';
import type { JobResources } from '../cost/resources.js';
import { DEFAULTS } from '../defaults.js';
import { orchestrationDocSchema } from '../model/documents.js';
import type { JobParams } from '../model/json.js';
import { parseDocument } from '../model/parse.js';
import { hasEnded } from '../model/status.js';
import type { Store } from '../store/store.js';

import type { JobReference } from './job-definitions.js';
import { type KickOffContext, validateKickOff } from './kick-off.js';
import type { KickOffOptions } from './options.js';

/** What `kickOffJob(job, params, { dryRun: true })` returns: the kick-off was valid, and what it would cost. */
export interface KickOffEstimate {
  dryRun: true;
  jobName: string;
  /** The Cloud Run job the tasks would run on. */
  service: string;
  /** Jobs the kick-off would run (one per parameter set). */
  jobs: number;
  /** CPU and memory of one task, as a real kick-off would record them. */
  resources: JobResources;
  pricing: JobPricing;
  /** Average task seconds per job of the recent orchestrations (see `basis`); null without history. */
  taskSecondsPerJob: number | null;
  /** jobs × taskSecondsPerJob; null without history. */
  taskSeconds: number | null;
  /** What `taskSeconds` would cost at `resources` and `pricing`; null without history (see `reason`). */
  amount: number | null;
  currency: string;
  /**
   * What the average is taken from: the ended orchestrations of this job name among its latest
   * DEFAULTS.estimateHistory (newest first) that recorded task time, and their jobs that ran to an end
   * (`Completed` or `Errored`).
   */
  basis: { orchestrations: number; jobs: number; taskSeconds: number };
  /** Why `amount` is null (no ended orchestration of this job name with task time); null otherwise. */
  reason: string | null;
}

/** Task seconds per job of a job name's latest ended orchestrations (those that recorded task time). */
export async function recentTaskTime(
  store: Store,
  jobName: string,
  limit: number = DEFAULTS.estimateHistory,
): Promise<KickOffEstimate['basis']> {
  // The jobName + createdAt index (the tenant's, which also orders by id, for a scoped store).
  let query = store.collections.orchestrations().where('jobName', '==', jobName);
  if (store.tenant !== null) query = query.where('tenant', '==', store.tenant);
  query = query.orderBy('createdAt', 'desc');
  if (store.tenant !== null) query = query.orderBy(FieldPath.documentId(), 'desc');
  const snapshot = await query.limit(limit).get();
  const basis = { orchestrations: 0, jobs: 0, taskSeconds: 0 };
  for (const doc of snapshot.docs) {
    const orchestration = parseDocument(orchestrationDocSchema, doc);
    const ran = orchestration.counts.completed + orchestration.counts.errored;
    if (!hasEnded(orchestration) || orchestration.taskMillis === null || ran === 0) continue;
    basis.orchestrations += 1;
    basis.jobs += ran;
    basis.taskSeconds += orchestration.taskMillis / 1000;
  }
  return basis;
}

/**
 * A dry-run kick-off: validates exactly as `kickOff` does (it throws the same typed errors), resolves
 * the resources a real one would record, and estimates the cost from the job name's history. Writes
 * and launches nothing.
 */
export async function estimateKickOff(
  context: KickOffContext,
  job: JobReference,
  params: readonly JobParams[],
  options: KickOffOptions | undefined,
): Promise<KickOffEstimate> {
  const valid = await validateKickOff(context, job, params, options);
  const { resources, pricing } = valid.cost;
  const basis = await recentTaskTime(context.store, valid.jobName);
  const jobs = params.length;
  const base = {
    dryRun: true as const,
    jobName: valid.jobName,
    service: valid.service,
    jobs,
    resources,
    pricing,
  };
  if (basis.jobs === 0) {
    return {
      ...base,
      taskSecondsPerJob: null,
      taskSeconds: null,
      amount: null,
      currency: pricing.currency,
      basis,
      reason: `No ended orchestration of ${valid.jobName} with recorded task time to estimate from.`,
    };
  }
  const taskSecondsPerJob = basis.taskSeconds / basis.jobs;
  const taskSeconds = taskSecondsPerJob * jobs;
  return {
    ...base,
    taskSecondsPerJob,
    taskSeconds,
    amount: priceTaskSeconds(taskSeconds, resources, pricing),
    currency: pricing.currency,
    basis,
    reason: null,
  };
}
