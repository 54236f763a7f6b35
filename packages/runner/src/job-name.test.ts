import { defineJob } from '@e11/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { type E11Job, getJobDefinition, JobName } from './job-name.js';
import { buildRegistry } from './registry.js';

describe('@JobName', () => {
  it('stores the name and options as metadata of the class', () => {
    const options = { maxAttempts: 5, timeout: '2m' as const };
    @JobName('process_batch', options)
    class ProcessBatch implements E11Job {
      run() {
        return null;
      }
    }
    expect(getJobDefinition(ProcessBatch)).toEqual({ name: 'process_batch', options, target: ProcessBatch });
  });

  it('rejects a malformed name with E11_INVALID_JOB_NAME when the class is defined', () => {
    for (const name of ['', '1job', 'has space', 'a'.repeat(64), 'slash/name']) {
      expect(() => JobName(name)).toThrow(expect.objectContaining({ code: 'E11_INVALID_JOB_NAME' }));
    }
    expect(() => JobName('a'.repeat(63))).not.toThrow();
  });

  it('rejects out-of-range options with E11_INVALID_OPTIONS naming the field', () => {
    expect(() => JobName('a', { maxAttempts: 0 })).toThrow(/maxAttempts must be a positive integer/);
    expect(() => JobName('a', { backoff: { initialMs: -1 } })).toThrow(/backoff\.initialMs/);
    expect(() => JobName('a', { backoff: { multiplier: 0.5 } })).toThrow(/backoff\.multiplier/);
    expect(() => JobName('a', { timeout: 'soon' as never })).toThrow(
      expect.objectContaining({ code: 'E11_INVALID_OPTIONS' }),
    );
    expect(() => JobName('a', { schema: {} as never })).toThrow(/Standard Schema/);
  });
});

describe('@JobName with a job handle', () => {
  const Params = z.object({ month: z.string() });
  const SumSales = defineJob<typeof Params, { total: number }>({ name: 'sum_sales', schema: Params });

  it("takes the handle's name and schema, keeping the other options", () => {
    @JobName(SumSales, { maxAttempts: 2 })
    class SumSalesJob implements E11Job<{ month: string }, { total: number }> {
      run() {
        return { total: 0 };
      }
    }
    expect(getJobDefinition(SumSalesJob)).toEqual({
      name: 'sum_sales',
      options: { maxAttempts: 2, schema: Params },
      target: SumSalesJob,
    });
  });

  it('refuses a schema option next to the schema of the handle with E11_INVALID_OPTIONS', () => {
    expect(() => JobName(SumSales, { schema: Params })).toThrow(
      expect.objectContaining({
        code: 'E11_INVALID_OPTIONS',
        message: expect.stringMatching(/schema/) as unknown,
      }),
    );
    expect(() => JobName(defineJob('typed_only'), { schema: Params })).not.toThrow();
  });
});

describe('buildRegistry', () => {
  @JobName('first')
  class First implements E11Job {
    run() {
      return 1;
    }
  }

  it('maps each job name to its class', () => {
    expect(buildRegistry([First]).get('first')?.target).toBe(First);
  });

  it('refuses two classes with the same name, naming both', () => {
    @JobName('first')
    class Second implements E11Job {
      run() {
        return 2;
      }
    }
    expect(() => buildRegistry([First, Second])).toThrow(
      expect.objectContaining({
        code: 'E11_DUPLICATE_JOB_NAME',
        message: expect.stringMatching(/First and Second both use @JobName\('first'\)/) as unknown,
      }),
    );
  });

  it('refuses a class without @JobName', () => {
    class Plain implements E11Job {
      run() {
        return 0;
      }
    }
    expect(() => buildRegistry([Plain])).toThrow(/Plain has no @JobName decorator/);
  });
});
