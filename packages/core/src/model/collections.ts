import type { CollectionReference, DocumentReference, Firestore } from '@google-cloud/firestore';

import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';

const PREFIX_PATTERN = /^[A-Za-z0-9_-]{0,40}$/;

/**
 * Every Firestore path E11 uses, built in one place from the collection prefix:
 *
 * - `{prefix}orchestrations/{orchestrationId}`
 * - `{prefix}orchestrations/{orchestrationId}/jobs/{jobId}` (written when its task claims it, or it ends unstarted)
 * - `{prefix}orchestrations/{orchestrationId}/params/{chunk}` (the params of jobs `chunk × size` onwards)
 * - `{prefix}orchestrations/{orchestrationId}/counters/{shard}` (sharded status counts)
 * - `{prefix}orchestrations/{orchestrationId}/completions/{epoch}` (completion marker)
 * - `{prefix}schedules/{id}` and `{prefix}schedules/{id}/runs/{runId}` (id: the name, or `{tenant}__{name}` encoded)
 * - `{prefix}pipelines/{pipelineId}` (a pipeline, its stages and its end's event)
 * - `{prefix}maintenance/sweeper` (where the last sweep stopped)
 * - `{prefix}maintenance/launch-budget:{project}:{region}` (the region's run-request budget, shared)
 * - `{prefix}maintenance/concurrency:{tenant}:{key}` and its `slots/{orchestrationId}:{index}` (a
 *   concurrency key's limit, waiting orchestrations and the slots its admitted jobs hold)
 * - `{prefix}maintenance/in-flight:{project}:{region}` and its `slots/{orchestrationId}:{index}` (the
 *   region's executions-in-flight budget: its limit, the groups waiting for it and the slots it gave)
 */
export class Collections {
  readonly prefix: string;

  constructor(
    readonly firestore: Firestore,
    prefix: string = DEFAULTS.collectionPrefix,
  ) {
    if (!PREFIX_PATTERN.test(prefix)) {
      throw new E11Error(
        ErrorCode.InvalidOptions,
        `collectionPrefix must be up to 40 letters, digits, '_' or '-', got '${prefix}'.`,
        { context: { path: 'collectionPrefix' } },
      );
    }
    this.prefix = prefix;
  }

  /** Collection id of orchestrations, e.g. `e11_orchestrations`. */
  get orchestrationsId(): string {
    return `${this.prefix}orchestrations`;
  }

  orchestrations(): CollectionReference {
    return this.firestore.collection(this.orchestrationsId);
  }

  orchestration(orchestrationId: string): DocumentReference {
    return this.orchestrations().doc(orchestrationId);
  }

  jobs(orchestrationId: string): CollectionReference {
    return this.orchestration(orchestrationId).collection('jobs');
  }

  job(orchestrationId: string, jobId: string): DocumentReference {
    return this.jobs(orchestrationId).doc(jobId);
  }

  paramsChunks(orchestrationId: string): CollectionReference {
    return this.orchestration(orchestrationId).collection('params');
  }

  paramsChunk(orchestrationId: string, chunk: number): DocumentReference {
    return this.paramsChunks(orchestrationId).doc(String(chunk));
  }

  counters(orchestrationId: string): CollectionReference {
    return this.orchestration(orchestrationId).collection('counters');
  }

  counter(orchestrationId: string, shard: number): DocumentReference {
    return this.counters(orchestrationId).doc(String(shard));
  }

  completions(orchestrationId: string): CollectionReference {
    return this.orchestration(orchestrationId).collection('completions');
  }

  completion(orchestrationId: string, epoch: number): DocumentReference {
    return this.completions(orchestrationId).doc(String(epoch));
  }

  pipelines(): CollectionReference {
    return this.firestore.collection(`${this.prefix}pipelines`);
  }

  pipeline(pipelineId: string): DocumentReference {
    return this.pipelines().doc(pipelineId);
  }

  schedules(): CollectionReference {
    return this.firestore.collection(`${this.prefix}schedules`);
  }

  schedule(name: string): DocumentReference {
    return this.schedules().doc(name);
  }

  scheduleRuns(name: string): CollectionReference {
    return this.schedule(name).collection('runs');
  }

  /** The sweeper's own state (its cursor over active orchestrations). */
  sweeperState(): DocumentReference {
    return this.firestore.collection(`${this.prefix}maintenance`).doc('sweeper');
  }

  /** The run-request budget of a Cloud Run project and region, shared by every launching process. */
  launchBudget(project: string, region: string): DocumentReference {
    return this.firestore.collection(`${this.prefix}maintenance`).doc(`launch-budget:${project}:${region}`);
  }

  /**
   * A concurrency key's document (`{prefix}maintenance/{keyId}`, `keyId` from `concurrencyKeyId`):
   * its limit and the orchestrations waiting for its slots.
   */
  concurrencyKey(keyId: string): DocumentReference {
    return this.firestore.collection(`${this.prefix}maintenance`).doc(keyId);
  }

  /** The slots a concurrency key has given: one document per admitted job, deleted when the job ends. */
  concurrencySlots(keyId: string): CollectionReference {
    return this.concurrencyKey(keyId).collection('slots');
  }

  /** The slot of job `index` of `orchestrationId` under a concurrency key. */
  concurrencySlot(keyId: string, orchestrationId: string, index: number): DocumentReference {
    return this.concurrencySlots(keyId).doc(`${orchestrationId}:${index}`);
  }

  /**
   * The executions-in-flight budget of a Cloud Run project and region (`{prefix}maintenance/{budgetId}`,
   * `budgetId` from `inFlightBudgetId`): its limit and the groups (concurrency keys, orchestrations)
   * waiting for its slots, shared by every tenant and process launching there.
   */
  inFlightBudget(budgetId: string): DocumentReference {
    return this.firestore.collection(`${this.prefix}maintenance`).doc(budgetId);
  }

  /** The slots the budget has given: one document per admitted job, deleted when the job ends. */
  inFlightSlots(budgetId: string): CollectionReference {
    return this.inFlightBudget(budgetId).collection('slots');
  }

  /** The slot of job `index` of `orchestrationId` under the executions-in-flight budget. */
  inFlightSlot(budgetId: string, orchestrationId: string, index: number): DocumentReference {
    return this.inFlightSlots(budgetId).doc(`${orchestrationId}:${index}`);
  }

  /** The Eventarc path pattern of job documents, for the `onJobWritten` trigger. */
  get jobDocumentPattern(): string {
    return `${this.orchestrationsId}/{orchestrationId}/jobs/{jobId}`;
  }
}

/** The parts of a job document path. */
export interface JobDocumentPath {
  prefix: string;
  orchestrationId: string;
  jobId: string;
}

/**
 * Parses `…/documents/{prefix}orchestrations/{o}/jobs/{j}` or `{prefix}orchestrations/{o}/jobs/{j}`
 * (with or without a leading `documents/`). Returns undefined for any other path.
 */
export function parseJobDocumentPath(path: string): JobDocumentPath | undefined {
  const relative = path.includes('/documents/') ? path.slice(path.indexOf('/documents/') + 11) : path;
  const trimmed = relative.startsWith('documents/') ? relative.slice(10) : relative;
  const match = /^([A-Za-z0-9_-]*)orchestrations\/([^/]+)\/jobs\/([^/]+)$/.exec(trimmed);
  if (!match) return undefined;
  const [, prefix, orchestrationId, jobId] = match;
  if (prefix === undefined || orchestrationId === undefined || jobId === undefined) return undefined;
  return { prefix, orchestrationId, jobId };
}

/** The document id of concurrency key `key` of `tenant` (keys of different tenants never share slots). */
export function concurrencyKeyId(tenant: string | null, key: string): string {
  return `concurrency:${tenant ?? ''}:${key}`;
}

/** The key name of a concurrency key document id (tenants hold no ':'). */
export function concurrencyKeyName(keyId: string): string {
  return keyId.split(':').slice(2).join(':');
}

/** The document id of the executions-in-flight budget of `project` and `region`. */
export function inFlightBudgetId(project: string, region: string): string {
  return `in-flight:${project}:${region}`;
}
