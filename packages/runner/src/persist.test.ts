import { describe, expect, it } from 'vitest';

import { persist } from './persist.js';

/** An error shaped like the Google clients' gRPC errors. */
function grpcError(code: number): Error {
  return Object.assign(new Error(`grpc ${code}`), { code });
}

describe('persist', () => {
  it('retries a status write through UNAVAILABLE answers until it succeeds', async () => {
    let calls = 0;
    const value = await persist(() => {
      calls++;
      return calls < 3 ? Promise.reject(grpcError(14)) : Promise.resolve('recorded');
    }, 'short');
    expect(value).toBe('recorded');
    expect(calls).toBe(3);
  });

  it('rejects at once with an error retrying cannot fix', async () => {
    let calls = 0;
    await expect(
      persist(() => {
        calls++;
        return Promise.reject(grpcError(3));
      }, 'short'),
    ).rejects.toThrow('grpc 3');
    expect(calls).toBe(1);
  });

  it('gives up with the last error once its time budget is spent', async () => {
    const started = performance.now();
    await expect(persist(() => Promise.reject(grpcError(14)), 'short')).rejects.toThrow('grpc 14');
    expect(performance.now() - started).toBeLessThan(3_000);
  });
});
