import { E11Error, ErrorCode } from '../errors.js';
import { jobIdFor } from '../internal/ids.js';
import { type JobDoc, type OrchestrationDoc, orchestrationDocSchema } from '../model/documents.js';
import { parseDocument, parseJobDocument } from '../model/parse.js';
import { assertJobId, assertOrchestrationId, isDocumentId } from '../validate/document-id.js';

import type { Store } from './store.js';
import { findUnwrittenJob, type JobSource, type JobTarget, type UnwrittenJob } from './unwritten-jobs.js';

/** Whether a tenant-scoped store may see this orchestration (an unscoped store sees all). */
export function isVisible(store: Pick<Store, 'tenant'>, doc: Pick<OrchestrationDoc, 'tenant'>): boolean {
  return store.tenant === null || doc.tenant === store.tenant;
}

/**
 * The orchestration document, or undefined when there is none (or it belongs to another tenant, or
 * `orchestrationId` cannot be a document id: no Firestore call then).
 */
export async function findOrchestration(
  store: Store,
  orchestrationId: string,
): Promise<OrchestrationDoc | undefined> {
  if (!isDocumentId(orchestrationId)) return undefined;
  const snapshot = await store.collections.orchestration(orchestrationId).get();
  if (!snapshot.exists) return undefined;
  const doc = parseDocument(orchestrationDocSchema, snapshot);
  return isVisible(store, doc) ? doc : undefined;
}

/** The orchestration document; `E11_UNKNOWN_ORCHESTRATION` when there is none (or the id is not valid). */
export async function loadOrchestration(store: Store, orchestrationId: string): Promise<OrchestrationDoc> {
  assertOrchestrationId(orchestrationId);
  const doc = await findOrchestration(store, orchestrationId);
  if (!doc) {
    throw new E11Error(ErrorCode.UnknownOrchestration, `Orchestration ${orchestrationId} does not exist.`, {
      context: { orchestrationId },
    });
  }
  return doc;
}

/** Where a job is looked up: its orchestration (or a read of it in flight), and its index if known. */
export interface JobReadOptions {
  orchestration?: JobSource | Promise<JobSource | undefined>;
  indexHint?: number;
}

/**
 * The job: its document, or (a `Pending` job not written yet) the job as its params chunk gives it;
 * `E11_UNKNOWN_JOB` when there is none.
 */
export async function loadJob(
  store: Store,
  orchestrationId: string,
  jobId: string,
  options: JobReadOptions = {},
): Promise<JobDoc> {
  assertOrchestrationId(orchestrationId);
  assertJobId(orchestrationId, jobId);
  const snapshot = await store.collections.job(orchestrationId, jobId).get();
  const job = snapshot.exists
    ? parseJobDocument(snapshot)
    : await unwritten(store, orchestrationId, { jobId, indexHint: options.indexHint }, options);
  if (!job) {
    throw new E11Error(
      ErrorCode.UnknownJob,
      `Job ${jobId} of orchestration ${orchestrationId} does not exist.`,
      {
        context: { orchestrationId, jobId },
      },
    );
  }
  return job;
}

async function unwritten(
  store: Store,
  orchestrationId: string,
  target: JobTarget,
  options: JobReadOptions,
): Promise<UnwrittenJob | undefined> {
  const source = (await options.orchestration) ?? (await findOrchestration(store, orchestrationId));
  return source ? findUnwrittenJob(store, source, target) : undefined;
}

/**
 * The job at `index` (array mode: a task finds its job by CLOUD_RUN_TASK_INDEX) — one document read,
 * since job ids derive from the orchestration id and the index (plus its params chunk when the job has
 * no document yet); `E11_UNKNOWN_JOB` if none.
 */
export async function loadJobByIndex(
  store: Store,
  orchestrationId: string,
  index: number,
  options: Pick<JobReadOptions, 'orchestration'> = {},
): Promise<JobDoc> {
  assertOrchestrationId(orchestrationId);
  const snapshot = await store.collections.job(orchestrationId, jobIdFor(orchestrationId, index)).get();
  const job = snapshot.exists
    ? parseJobDocument(snapshot)
    : await unwritten(store, orchestrationId, { index }, options);
  if (!job) {
    throw new E11Error(
      ErrorCode.UnknownJob,
      `Orchestration ${orchestrationId} has no job with index ${index}.`,
      {
        context: { orchestrationId, index },
      },
    );
  }
  return job;
}
