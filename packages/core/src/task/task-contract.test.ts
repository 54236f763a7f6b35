import { describe, expect, it } from 'vitest';

import { buildTaskEnv, cloudRunTaskEnv, encodeIndexes, parseTaskEnv, TaskEnvName } from './task-contract.js';

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

describe('buildTaskEnv', () => {
  it('builds a per-job env that parseTaskEnv reads back', () => {
    const env = buildTaskEnv({
      jobName: 'process_batch',
      orchestrationId: 'o1',
      job: { id: 'j7', index: 7 },
      collectionPrefix: 'acme_',
      databaseId: 'e11-jobs',
    });
    const cloudRun = cloudRunTaskEnv({
      job: 'process-batch',
      execution: 'process-batch-abcde',
      taskIndex: 0,
      taskAttempt: 1,
      taskCount: 1,
    });
    expect(parseTaskEnv({ ...env, ...cloudRun })).toEqual({
      jobName: 'process_batch',
      orchestrationId: 'o1',
      jobId: 'j7',
      jobIndex: undefined,
      jobIndexHint: 7,
      executionName: 'process-batch-abcde',
      taskIndex: 0,
      taskAttempt: 1,
      collectionPrefix: 'acme_',
      databaseId: 'e11-jobs',
      heartbeatIntervalMs: 10_000,
      terminationGraceMs: 8_000,
      trace: null,
    });
  });

  it('builds an array-mode env whose task i finds job offset + i', () => {
    const env = buildTaskEnv({ jobName: 'a', orchestrationId: 'o', taskIndexOffset: 20_000 });
    const cloudRun = cloudRunTaskEnv({
      job: 'a',
      execution: 'a-x',
      taskIndex: 3,
      taskAttempt: 0,
      taskCount: 10_000,
    });
    expect(parseTaskEnv({ ...env, ...cloudRun })).toMatchObject({ jobId: undefined, jobIndex: 20_003 });
  });

  it('maps the tasks of a relaunch of scattered jobs to their jobs by a list of indexes and ranges', () => {
    const indexes = [3, 17, 40, 41, 42, 43, 45];
    const env = buildTaskEnv({ jobName: 'a', orchestrationId: 'o', taskJobIndexes: indexes });
    expect(env[TaskEnvName.taskJobIndexes]).toBe('3,17,40-43,45');
    expect(encodeIndexes([])).toBe('');
    indexes.forEach((jobIndex, taskIndex) => {
      const cloudRun = cloudRunTaskEnv({
        job: 'a',
        execution: 'a-x',
        taskIndex,
        taskAttempt: 0,
        taskCount: 7,
      });
      expect(parseTaskEnv({ ...env, ...cloudRun }).jobIndex).toBe(jobIndex);
    });
    const beyond = cloudRunTaskEnv({
      job: 'a',
      execution: 'a-x',
      taskIndex: 7,
      taskAttempt: 0,
      taskCount: 8,
    });
    expect(() => parseTaskEnv({ ...env, ...beyond })).toThrow(
      expect.objectContaining({
        code: 'E11_INVALID_TASK_ENV',
        context: { path: TaskEnvName.taskJobIndexes },
      }),
    );
    expect(() => parseTaskEnv({ ...env, ...beyond, [TaskEnvName.taskJobIndexes]: '3,x' })).toThrow(
      expect.objectContaining({ code: 'E11_INVALID_TASK_ENV' }),
    );
  });

  it('leaves out the defaults, a zero offset and what was not given', () => {
    expect(
      buildTaskEnv({
        jobName: 'a',
        orchestrationId: 'o',
        taskIndexOffset: 0,
        collectionPrefix: 'e11_',
        databaseId: '(default)',
      }),
    ).toEqual({ JOB_NAME: 'a', ORCHESTRATION_ID: 'o' });
    expect(buildTaskEnv({ jobName: 'a', orchestrationId: 'o', heartbeatIntervalMs: 200 })).toEqual({
      JOB_NAME: 'a',
      ORCHESTRATION_ID: 'o',
      [TaskEnvName.heartbeatIntervalMs]: '200',
    });
  });

  it('makes an env that parseTaskEnv rejects with a typed error when an id is malformed', () => {
    const env = buildTaskEnv({ jobName: 'a', orchestrationId: 'o/1', job: { id: 'j', index: 0 } });
    expect(() => parseTaskEnv(env)).toThrow(
      expect.objectContaining({ code: 'E11_INVALID_TASK_ENV', context: { path: 'ORCHESTRATION_ID' } }),
    );
  });
});
