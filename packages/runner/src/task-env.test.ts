import { describe, expect, it } from 'vitest';

import { parseTaskEnv } from './task-env.js';

describe('parseTaskEnv', () => {
  it('reads the per-job contract and Cloud Run variables', () => {
    expect(
      parseTaskEnv({
        JOB_NAME: 'process_batch',
        ORCHESTRATION_ID: 'o1',
        JOB_ID: 'j1',
        CLOUD_RUN_EXECUTION: 'process-batch-abcde',
        CLOUD_RUN_TASK_INDEX: '0',
        CLOUD_RUN_TASK_ATTEMPT: '2',
      }),
    ).toMatchObject({
      jobName: 'process_batch',
      orchestrationId: 'o1',
      jobId: 'j1',
      jobIndex: undefined,
      taskAttempt: 2,
      executionName: 'process-batch-abcde',
    });
  });

  it('finds the job by CLOUD_RUN_TASK_INDEX plus the offset in array mode', () => {
    expect(
      parseTaskEnv({
        JOB_NAME: 'a',
        ORCHESTRATION_ID: 'o',
        CLOUD_RUN_TASK_INDEX: '7',
        E11_TASK_INDEX_OFFSET: '10000',
      }).jobIndex,
    ).toBe(10_007);
  });

  it('reads the database of the orchestration from E11_FIRESTORE_DATABASE, undefined without it', () => {
    const base = { JOB_NAME: 'a', ORCHESTRATION_ID: 'o', JOB_ID: 'j' };
    expect(parseTaskEnv({ ...base, E11_FIRESTORE_DATABASE: 'e11-jobs' }).databaseId).toBe('e11-jobs');
    expect(parseTaskEnv(base).databaseId).toBeUndefined();
    expect(parseTaskEnv({ ...base, E11_FIRESTORE_DATABASE: '' }).databaseId).toBeUndefined();
  });

  it('names the missing or malformed variable with E11_INVALID_TASK_ENV', () => {
    expect(() => parseTaskEnv({ ORCHESTRATION_ID: 'o', JOB_ID: 'j' })).toThrow(/JOB_NAME is not set/);
    expect(() => parseTaskEnv({ JOB_NAME: 'a', ORCHESTRATION_ID: 'o' })).toThrow(/JOB_ID is missing/);
    expect(() => parseTaskEnv({ JOB_NAME: 'a', ORCHESTRATION_ID: 'o', CLOUD_RUN_TASK_INDEX: '-1' })).toThrow(
      expect.objectContaining({ code: 'E11_INVALID_TASK_ENV' }),
    );
  });
});
