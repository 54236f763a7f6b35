import { describe, expect, it } from 'vitest';

import { DEFAULTS } from '../defaults.js';

import { compileServiceOptions } from './compile-service-options.js';

describe('compileServiceOptions', () => {
  it('fills every default from DEFAULTS when neither options nor the environment give one', () => {
    expect(compileServiceOptions({}, {})).toEqual({
      projectId: undefined,
      databaseId: DEFAULTS.firestoreDatabase,
      collectionPrefix: DEFAULTS.collectionPrefix,
      tenant: null,
      region: DEFAULTS.region,
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
      expect(compileServiceOptions({}).defaultTopic).toBe(DEFAULTS.topic);
      expect(compileServiceOptions({}, process.env).defaultTopic).toBe('process-topic');
    } finally {
      if (saved === undefined) delete process.env.E11_TOPIC;
      else process.env.E11_TOPIC = saved;
    }
  });

  it('refuses bad options with E11_INVALID_OPTIONS naming the field', () => {
    const refused = (options: Parameters<typeof compileServiceOptions>[0], path: string, env = {}) => {
      let error: unknown;
      try {
        compileServiceOptions(options, env);
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
});
