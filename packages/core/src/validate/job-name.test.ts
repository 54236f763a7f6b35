import { describe, expect, it } from 'vitest';

import { defaultServiceName, serviceNameFor, validateJobName } from './job-name.js';

describe('job names and Cloud Run job ids', () => {
  it('maps process_batch to process-batch by default', () => {
    expect(defaultServiceName('process_batch')).toBe('process-batch');
    expect(serviceNameFor('Process_Batch')).toBe('process-batch');
  });

  it('uses a mapping function or record, falling back to the convention for names a record lacks', () => {
    expect(serviceNameFor('sum_chunk', (name) => `e11-${name.replace(/_/g, '-')}`)).toBe('e11-sum-chunk');
    expect(serviceNameFor('sum_chunk', { sum_chunk: 'worker' })).toBe('worker');
    expect(serviceNameFor('other_job', { sum_chunk: 'worker' })).toBe('other-job');
  });

  it('rejects invalid job names and mappings that break RFC 1035 with E11_INVALID_JOB_NAME', () => {
    expect(() => validateJobName('')).toThrow(expect.objectContaining({ code: 'E11_INVALID_JOB_NAME' }));
    expect(() => validateJobName('1job')).toThrow(expect.objectContaining({ code: 'E11_INVALID_JOB_NAME' }));
    expect(() => validateJobName('a'.repeat(64))).toThrow(
      expect.objectContaining({ code: 'E11_INVALID_JOB_NAME' }),
    );
    expect(() => serviceNameFor('job_', undefined)).toThrow(
      expect.objectContaining({ code: 'E11_INVALID_JOB_NAME' }),
    );
    expect(() => serviceNameFor('ok', () => 'Bad_Name')).toThrow(
      expect.objectContaining({ code: 'E11_INVALID_JOB_NAME' }),
    );
  });
});
