import { DEFAULTS, type Logger, type PipelineDefinition, type Store } from '@e11/core';
import type { Engine } from '@e11/core/engine';

/** What the completion function asks of an engine: admissions, early ends, pipeline stages. */
export type Admitter = Pick<Engine, 'admitWaiting' | 'enforceEndPolicies' | 'advancePipeline'>;

/** Engines that admit the next jobs of `maxParallel` orchestrations, one per store, created on first use. */
export interface Admitters {
  admitterFor(store: Store, projectId: string): Promise<Admitter>;
  /** Closes every engine created so far (the stores' Firestore clients are the caller's). */
  close(): Promise<void>;
}

/**
 * The default admitters of the `onJobWritten` function: an `Engine` per project, database and
 * collection prefix on the handler's own Firestore client, with the Cloud Run client from the
 * environment (E11_REGION, E11_CLOUD_RUN_EMULATOR_HOST). The engine module (Cloud Run client) loads on
 * the first end of a `maxParallel` orchestration's job only: other job ends never pay for it.
 */
export function createAdmitters(logger: Logger, pipelines?: readonly PipelineDefinition[]): Admitters {
  const engines = new Map<Store, Promise<Engine>>();
  return {
    admitterFor(store, projectId) {
      let engine = engines.get(store);
      if (!engine) {
        engine = import('@e11/core/engine').then(({ createEngine }) =>
          createEngine({
            projectId,
            firestore: store.firestore,
            collectionPrefix: store.collections.prefix,
            logger,
            // Without the `pipelines` dependency: the module named by E11_PIPELINES_MODULE.
            ...(pipelines === undefined ? {} : { pipelines }),
            // A function has a timeout: Cloud Run's "later" is retried as long as the sweeper's, then
            // the jobs are handed to the sweeper (see admitAndLaunch).
            launch: { retryBudget: DEFAULTS.sweepLaunchRetryBudgetMs },
          }),
        );
        engines.set(store, engine);
      }
      return engine;
    },
    async close() {
      const all = [...engines.values()];
      engines.clear();
      await Promise.all(all.map(async (engine) => (await engine).close()));
    },
  };
}
