import 'reflect-metadata';

import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { JobDefinitions, readJobDeclaration } from './job-definitions.js';
import { defineJob, isJobHandle } from './job-handle.js';

const Params = z.object({ month: z.string() });

/** What `@JobName(name, options)` (@e11/runner) stores on a class. */
function declared(name: string, options: Record<string, unknown>) {
  class Job {
    run(): void {}
  }
  Reflect.defineMetadata(Symbol.for('e11:job-name'), { name, options, target: Job }, Job);
  return Job;
}

describe('defineJob', () => {
  it('makes a frozen handle of a name and an optional schema, in both forms', () => {
    const typed = defineJob<{ month: string }, { total: number }>('sum_sales');
    const inferred = defineJob({ name: 'sum_sales', schema: Params });
    expect(typed).toMatchObject({ name: 'sum_sales', schema: undefined });
    expect(inferred).toMatchObject({ name: 'sum_sales', schema: Params });
    expect(defineJob('sum_sales', { schema: Params }).schema).toBe(Params);
    expect(Object.isFrozen(inferred)).toBe(true);
    expect(isJobHandle(typed) && isJobHandle(inferred)).toBe(true);
    expect(isJobHandle({ name: 'sum_sales', schema: undefined })).toBe(false);
  });

  it('refuses a malformed name and a schema that is not a Standard Schema', () => {
    expect(() => defineJob('1 bad')).toThrow(expect.objectContaining({ code: 'E11_INVALID_JOB_NAME' }));
    expect(() => defineJob({ name: 'ok', schema: {} as never })).toThrow(
      expect.objectContaining({
        code: 'E11_INVALID_OPTIONS',
        message: expect.stringMatching(/Standard Schema/) as unknown,
      }),
    );
  });
});

describe('JobDefinitions with handles', () => {
  const SumSales = defineJob({ name: 'sum_sales', schema: Params });

  it('resolves a handle to its name and schema', () => {
    const { jobName, declared: job } = new JobDefinitions().resolve(SumSales, undefined);
    expect(jobName).toBe('sum_sales');
    expect(job?.schema).toBe(Params);
  });

  it('gives kick-offs by name the schema of a registered handle or class', () => {
    const Other = z.object({ id: z.string() });
    const definitions = new JobDefinitions([SumSales, declared('other', { schema: Other })]);
    expect(definitions.resolve('sum_sales', undefined).declared?.schema).toBe(Params);
    expect(definitions.resolve('other', undefined).declared?.schema).toBe(Other);
    expect(definitions.resolve('unknown', undefined).declared).toBeUndefined();
  });

  it('reads the schema a class declares with @JobName', () => {
    expect(readJobDeclaration(declared('with_schema', { schema: Params }))?.schema).toBe(Params);
    expect(readJobDeclaration(declared('without', {}))?.schema).toBeUndefined();
  });

  it('merges a handle and a class of one name: the class keeps its keys and policy, the handle adds its schema', () => {
    const SumSalesJob = declared('sum_sales', { sensitiveKeys: ['month'], maxAttempts: 4 });
    for (const jobs of [
      [SumSales, SumSalesJob],
      [SumSalesJob, SumSales],
    ]) {
      const job = new JobDefinitions(jobs).resolve('sum_sales', undefined).declared;
      expect(job).toMatchObject({ sensitiveKeys: ['month'], policy: { maxAttempts: 4 }, schema: Params });
    }
  });
});
