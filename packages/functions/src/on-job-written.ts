import {
  checkCompletion,
  type CompletionCheck,
  contextFromTraceparent,
  createLogger,
  createStore,
  e11Tracer,
  ErrorCode,
  type EventPublisher,
  inSpan,
  isE11Error,
  isTerminal,
  linkTo,
  type Logger,
  type PipelineDefinition,
  readOrchestrationTraceparent,
  resolveDatabaseId,
  type Store,
  TraceAttribute,
  TracerScope,
} from '@e11/core';
import type { Firestore } from '@google-cloud/firestore';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { context as traceContext, SpanKind } from '@opentelemetry/api';

import { type Admitter, createAdmitters } from './admitters.js';
import { createCoalescer } from './coalesce.js';
import { type JobWrite, readJobWrite } from './job-written-event.js';
import { createProjectClients, type ProjectClients } from './project-clients.js';

/** What the `onJobWritten` handler talks to. Every field is optional; the defaults are production's. */
export interface JobWrittenDeps {
  /**
   * The Firestore database this function serves: events of other databases are logged and acknowledged.
   * @default E11_FIRESTORE_DATABASE, or DEFAULTS.firestoreDatabase
   */
  databaseId?: string;
  /** The Firestore client of a project's database. @default one emulator-aware client per project and database, created on first use */
  firestoreFor?: (projectId: string, databaseId: string) => Firestore;
  /** The event publisher of a project. @default one Pub/Sub publisher per project, created on first publish */
  publisherFor?: (projectId: string) => EventPublisher;
  /** @default a pino logger with Cloud Logging fields, level E11_LOG_LEVEL or `info` */
  logger?: Logger;
  /** How long a publisher holds the completion marker's lease. @default DEFAULTS.publishRetryAfterMs */
  leaseMs?: number;
  /**
   * Admits and launches the next jobs of a `maxParallel` orchestration when one of its jobs ended.
   * @default an `Engine` per project, database and collection prefix (Cloud Run client from the
   * environment: E11_REGION, E11_CLOUD_RUN_EMULATOR_HOST), loaded on the first such job end
   */
  admitterFor?: (store: Store, projectId: string) => Promise<Admitter>;
  /**
   * The pipelines whose stages this function starts when the stage before ends (each from
   * `definePipeline`; the backend that starts them registers the same).
   * @default the module named by E11_PIPELINES_MODULE (its `pipelines` or default export), or none
   */
  pipelines?: readonly PipelineDefinition[];
}

/** A CloudEvent function for Firestore job writes, with a way to close the clients it created. */
export interface JobWrittenHandler {
  (event: CloudEvent<unknown>): Promise<void>;
  /** Closes the default clients this handler created (injected ones are the caller's). */
  close(): Promise<void>;
}

/** The link from a job end's span to the attempt span that wrote the end, when it was traced. */
function linkToAttempt(write: JobWrite): { links?: NonNullable<ReturnType<typeof linkTo>>[] } {
  const link = linkTo(write.traceparent, { [TraceAttribute.jobId]: write.path.jobId });
  return link === undefined ? {} : { links: [link] };
}

/** Errors that redelivering the event cannot fix: a stored document that does not match its schema. */
function isPermanent(error: unknown): boolean {
  return isE11Error(error, ErrorCode.CorruptDocument) || isE11Error(error, ErrorCode.InvalidEvent);
}

/**
 * Builds the `onJobWritten` CloudEvent function: for a write that moved a job into a terminal status
 * it runs completion detection (`checkCompletion`: one orchestration read and one aggregation over the
 * counter shards, then — once per orchestration end — the completion marker and the JobCompletedEvent).
 * Every other write returns at once without I/O. Concurrent checks of one orchestration in one process
 * are coalesced (at most one running, one queued). An event that is not a readable job write, or whose
 * orchestration does not exist, is logged once and acknowledged. Only a transient failure (Firestore
 * unavailable, the publish failed) is thrown, so the trigger's retry — or the sweeper — finishes it.
 */
export function createJobWrittenHandler(deps: JobWrittenDeps = {}): JobWrittenHandler {
  const logger = deps.logger ?? createLogger('e11-functions', { level: process.env.E11_LOG_LEVEL ?? 'info' });
  let owned: ProjectClients | undefined;
  const defaults = () => (owned ??= createProjectClients());
  const servedDatabase = resolveDatabaseId(deps.databaseId);
  const firestoreFor =
    deps.firestoreFor ??
    ((projectId: string, databaseId: string) => defaults().firestoreFor(projectId, databaseId));
  const publisherFor = deps.publisherFor ?? ((projectId: string) => defaults().publisherFor(projectId));
  const stores = new Map<string, Store>();
  const admitters = createAdmitters(logger, deps.pipelines);
  const admitterFor =
    deps.admitterFor ?? ((store: Store, projectId: string) => admitters.admitterFor(store, projectId));
  const publishers = new Map<string, EventPublisher>();
  // One completion check at a time per orchestration in this process (see createCoalescer).
  const coalesced = createCoalescer<CompletionCheck>();

  const storeFor = (projectId: string, database: string, collectionPrefix: string): Store => {
    const key = `${projectId}/${database}/${collectionPrefix}`;
    let store = stores.get(key);
    if (!store) {
      store = createStore({ firestore: firestoreFor(projectId, database), collectionPrefix });
      stores.set(key, store);
    }
    return store;
  };
  const publisherOf = (projectId: string): EventPublisher => {
    let publisher = publishers.get(projectId);
    if (!publisher) {
      publisher = publisherFor(projectId);
      publishers.set(projectId, publisher);
    }
    return publisher;
  };

  const handler = async (event: CloudEvent<unknown>): Promise<void> => {
    const write = readJobWrite(event, servedDatabase);
    if (write.kind === 'ignored') {
      logger.warn({ reason: write.reason, ...write.details }, `Ignored event: ${write.message}`);
      return;
    }
    // Counts move only when a job's status changes, so only a change into a terminal status can end
    // an orchestration. Creation, claim, progress, heartbeat and deletes need no work at all.
    if (write.newStatus === null || !isTerminal(write.newStatus) || write.newStatus === write.oldStatus) {
      return;
    }
    await inSpan(
      e11Tracer(TracerScope.functions),
      `onJobWritten ${write.jobName ?? 'job'}`,
      {
        kind: SpanKind.CONSUMER,
        parent: await traceParentOf(write),
        ...linkToAttempt(write),
        attributes: {
          'cloud.provider': 'gcp',
          'faas.trigger': 'datasource',
          'faas.invocation_id': write.eventId,
          'faas.document.operation': 'edit',
          'faas.document.name': `${write.path.prefix}orchestrations/${write.path.orchestrationId}/jobs/${write.path.jobId}`,
          [TraceAttribute.orchestrationId]: write.path.orchestrationId,
          [TraceAttribute.jobId]: write.path.jobId,
          [TraceAttribute.status]: write.newStatus,
          ...(write.jobName === null ? {} : { [TraceAttribute.jobName]: write.jobName }),
        },
      },
      () => actOnJobEnd(write),
    );
  };

  /**
   * The parent of a job end's span: the orchestration's kick-off span (its stored traceparent), read
   * only when the job's attempt was traced itself (it stored a traceparent: the tasks have an SDK),
   * so untraced job ends cost no read. Else the active context.
   */
  const traceParentOf = async (write: JobWrite) => {
    const active = traceContext.active();
    if (write.traceparent === null) return active;
    const { projectId, database, path } = write;
    const store = storeFor(projectId, database, path.prefix);
    const traceparent = await readOrchestrationTraceparent(store, path.orchestrationId).catch(() => null);
    return contextFromTraceparent(traceparent, null, active);
  };

  /** A job end's work: completion, end policies, admissions, pipelines (see createJobWrittenHandler). */
  const actOnJobEnd = async (write: JobWrite): Promise<void> => {
    const { projectId, database, path } = write;
    const context = {
      projectId,
      database,
      orchestrationId: path.orchestrationId,
      jobId: path.jobId,
      ceId: write.eventId,
    };
    const runCheck = async (): Promise<CompletionCheck> => {
      const completion = {
        store: storeFor(projectId, database, path.prefix),
        publisher: publisherOf(projectId),
      };
      const result = await checkCompletion(
        deps.leaseMs === undefined ? completion : { ...completion, leaseMs: deps.leaseMs },
        path.orchestrationId,
      );
      if (result.outcome === 'published') {
        const { eventId, status } = result.event;
        logger.info(
          { ...context, eventId, status, messageId: result.messageId },
          'Published JobCompletedEvent',
        );
      }
      return result;
    };
    let check: CompletionCheck;
    try {
      check = await coalesced(`${projectId}/${database}/${path.prefix}/${path.orchestrationId}`, runCheck);
    } catch (error) {
      if (isPermanent(error)) {
        logger.error({ ...context, err: error }, 'Completion check failed on a corrupt document');
        return;
      }
      logger.error(
        { ...context, err: error },
        'Completion check failed; the event will be retried (redelivery or sweeper)',
      );
      throw error;
    }
    // The engine that ends orchestrations early and admits jobs, for this write's store.
    const engine = () => admitterFor(storeFor(projectId, database, path.prefix), projectId);
    // A job of an orchestration with maxFailures or a successPolicy ended: it may end it early.
    if (write.earlyEnd && check.outcome === 'open') {
      try {
        const admitter = await engine();
        const reason = await admitter.enforceEndPolicies(path.orchestrationId, check.counts);
        if (reason !== null) logger.info({ ...context, reason }, 'Ended the orchestration early');
      } catch (error) {
        logger.error({ ...context, err: error }, 'End policy check failed; the event will be retried');
        throw error;
      }
    }
    // A job of a maxParallel orchestration ended: its slot goes to the next job, launched from here (a
    // slot of the region's budget may go to another orchestration, even when this one has ended).
    if (write.limited && (check.outcome === 'open' || write.sharesBudget)) {
      try {
        const admitter = await engine();
        const counts = 'counts' in check ? check.counts : undefined;
        const { admitted } = await admitter.admitWaiting(path.orchestrationId, counts);
        if (admitted > 0) logger.info({ ...context, admitted }, 'Admitted and launched the next jobs');
      } catch (error) {
        logger.error(
          { ...context, err: error },
          'Admission failed; the event will be retried (redelivery or sweeper)',
        );
        throw error;
      }
    }
    // The orchestration ran a pipeline's stage and has ended: the pipeline moves to its next stage (or
    // ends). A duplicate of the last write (already-ended) does it too, so a crash between the event
    // and the transition is finished by the redelivery; the transition itself is exactly once.
    if ((check.outcome === 'published' || check.outcome === 'already-ended') && check.pipeline) {
      const { pipelineId } = check.pipeline;
      try {
        const admitter = await engine();
        const advanced = await admitter.advancePipeline(pipelineId);
        logger.info({ ...context, pipelineId, ...advanced }, 'Advanced the pipeline');
      } catch (error) {
        logger.error(
          { ...context, pipelineId, err: error },
          'Pipeline transition failed; the event will be retried (redelivery or sweeper)',
        );
        throw error;
      }
    }
    if (check.outcome === 'unknown') {
      logger.warn(
        { ...context, reason: 'unknown-orchestration' },
        `Ignored event: job ${path.jobId} belongs to no orchestration (${path.orchestrationId} does not exist).`,
      );
    }
  };
  return Object.assign(handler, {
    close: async () => {
      await admitters.close();
      stores.clear();
      publishers.clear();
      await owned?.close();
      owned = undefined;
    },
  });
}
