import { describe, expect, it } from 'vitest';

import { DEFAULTS } from '../defaults.js';

import { compileServiceOptions } from './compile-service-options.js';

describe('compileServiceOptions', () => {
  it('fills every default from DEFAULTS when neither options nor the environment give one', () => {
    expect(compileServiceOptions({ region: 'europe-west1' }, {})).toEqual({
      projectId: undefined,
      databaseId: DEFAULTS.firestoreDatabase,
      collectionPrefix: DEFAULTS.collectionPrefix,
      tenant: null,
      region: 'europe-west1',
      cloudRunEndpoint: undefined,
      serviceName: undefined,
      defaultTopic: DEFAULTS.topic,
      maxJobsPerOrchestration: DEFAULTS.maxJobsPerOrchestration,
      launch: {
        concurrency: DEFAULTS.launchConcurrency,
        ratePerMinute: DEFAULTS.launchRatePerMinute,
        burst: null,
        maxAttempts: DEFAULTS.launchMaxAttempts,
        initialBackoffMs: DEFAULTS.launchInitialBackoffMs,
        maxBackoffMs: DEFAULTS.launchMaxBackoffMs,
        retryBudgetMs: DEFAULTS.launchRetryBudgetMs,
        maxExecutionsInFlight: null,
      },
    });
  });

  it('reads only the environment it is given, and options win over it', () => {
    const env = {
      GOOGLE_CLOUD_PROJECT: 'env-project',
      E11_FIRESTORE_DATABASE: 'env-db',
      E11_COLLECTION_PREFIX: 'env_',
      E11_REGION: 'asia-east1',
      E11_TOPIC: 'env-topic',
    };
    expect(compileServiceOptions({}, env)).toMatchObject({
      projectId: 'env-project',
      databaseId: 'env-db',
      collectionPrefix: 'env_',
      region: 'asia-east1',
      defaultTopic: 'env-topic',
    });
    expect(
      compileServiceOptions(
        {
          projectId: 'p',
          databaseId: 'own-db',
          collectionPrefix: 'own_',
          region: 'us-east4',
          defaultTopic: 'own-topic',
          tenant: 'acme',
          launch: { retryBudget: '2m', concurrency: 3, maxExecutionsInFlight: 900 },
          maxJobsPerOrchestration: 50,
        },
        env,
      ),
    ).toMatchObject({
      projectId: 'p',
      databaseId: 'own-db',
      collectionPrefix: 'own_',
      region: 'us-east4',
      defaultTopic: 'own-topic',
      tenant: 'acme',
      launch: { retryBudgetMs: 120_000, concurrency: 3, maxExecutionsInFlight: 900 },
      maxJobsPerOrchestration: 50,
    });
  });

  it('does not read the process environment: only the `env` argument', () => {
    const saved = process.env.E11_TOPIC;
    process.env.E11_TOPIC = 'process-topic';
    try {
      expect(compileServiceOptions({ region: 'europe-west1' }).defaultTopic).toBe(DEFAULTS.topic);
      expect(compileServiceOptions({ region: 'europe-west1' }, process.env).defaultTopic).toBe(
        'process-topic',
      );
    } finally {
      if (saved === undefined) delete process.env.E11_TOPIC;
      else process.env.E11_TOPIC = saved;
    }
  });

  it('refuses bad options with E11_INVALID_OPTIONS naming the field', () => {
    const refused = (options: Parameters<typeof compileServiceOptions>[0], path: string, env = {}) => {
      let error: unknown;
      try {
        compileServiceOptions({ region: 'europe-west1', ...options }, env);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toMatchObject({ code: 'E11_INVALID_OPTIONS', context: { path } });
    };
    refused({ tenant: 'a/b' }, 'tenant');
    refused({ defaultTopic: 'x' }, 'defaultTopic');
    refused({}, 'defaultTopic', { E11_TOPIC: 'goog-topic' });
    refused({ databaseId: 'Bad_DB' }, 'databaseId');
    refused({}, 'E11_FIRESTORE_DATABASE', { E11_FIRESTORE_DATABASE: 'Bad_DB' });
    refused({ launch: { concurrency: 0 } }, 'launch.concurrency');
    refused({ launch: { maxExecutionsInFlight: 0 } }, 'launch.maxExecutionsInFlight');
    refused({ launch: { maxExecutionsInFlight: 1.5 } }, 'launch.maxExecutionsInFlight');
    refused({ maxJobsPerOrchestration: 0 }, 'maxJobsPerOrchestration');
    refused({ maxJobsPerOrchestration: 2.5 }, 'maxJobsPerOrchestration');
  });

  describe('region', () => {
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error;
      }
      return undefined;
    };

    it('has no default: without a region anywhere the default launcher is refused with E11_INVALID_OPTIONS', () => {
      const error = code(() => compileServiceOptions({}, {}));
      expect(error).toMatchObject({ code: 'E11_INVALID_OPTIONS', context: { path: 'region' } });
      expect((error as Error).message).toContain('E11_REGION');
      expect((error as Error).message).toContain('gcloud config set run/region');
    });

    it('takes the option first, then E11_REGION, then the Cloud Run and gcloud variables in order', () => {
      const env = {
        E11_REGION: 'e11-env1',
        CLOUD_RUN_REGION: 'asia-east1',
        CLOUDSDK_RUN_REGION: 'asia-east2',
        CLOUDSDK_COMPUTE_REGION: 'asia-east3',
      };
      expect(compileServiceOptions({ region: 'us-east4' }, env).region).toBe('us-east4');
      expect(compileServiceOptions({}, { ...env, E11_REGION: 'europe-west4' }).region).toBe('europe-west4');
      expect(compileServiceOptions({}, { ...env, E11_REGION: undefined }).region).toBe('asia-east1');
      expect(compileServiceOptions({}, { CLOUDSDK_RUN_REGION: 'asia-east2' }).region).toBe('asia-east2');
      expect(compileServiceOptions({}, { CLOUDSDK_COMPUTE_REGION: 'asia-east3' }).region).toBe('asia-east3');
    });

    it('refuses a value that is not a region name', () => {
      expect(code(() => compileServiceOptions({ region: 'Europe West' }, {}))).toMatchObject({
        code: 'E11_INVALID_OPTIONS',
        context: { path: 'region' },
      });
    });

    it("with a launcher given, needs no region: it takes the launcher's, or '-' for the shared budgets", () => {
      const launcher = {
        launch: () => Promise.reject(new Error('not used')),
        cancel: () => Promise.resolve(),
        close: () => Promise.resolve(),
      };
      expect(compileServiceOptions({ launcher }, {}).region).toBe('-');
      expect(compileServiceOptions({ launcher: { ...launcher, region: 'europe-west1' } }, {}).region).toBe(
        'europe-west1',
      );
      expect(compileServiceOptions({ launcher, region: 'us-east4' }, {}).region).toBe('us-east4');
    });
  });
});
