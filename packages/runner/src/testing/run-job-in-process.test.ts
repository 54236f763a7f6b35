import { delay } from '@e11/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';

import type { JobContext } from '../context.js';
import { PermanentError, TransientError } from '../errors.js';
import { type E11Job, JobName } from '../job-name.js';
import { REDACTED } from '../redact.js';

import { runJobInProcess } from './index.js';

/** Resolves when the signal aborts, rejecting with its reason: a job that honours its signal. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

describe('runJobInProcess', () => {
  it('runs a job to Completed and records its progress, checkpoints, logs and result', async () => {
    @JobName('copy_rows')
    class CopyRowsJob implements E11Job<{ rows: number }, { written: number }, { offset: number }> {
      async run(params: { rows: number }, ctx: JobContext<{ rows: number }, { offset: number }>) {
        ctx.progress(0.25, 'a quarter');
        await ctx.saveCheckpoint({ offset: 5 });
        ctx.progress(0.75, 'three quarters');
        await ctx.saveCheckpoint({ offset: params.rows });
        ctx.log.info({ rows: params.rows }, 'rows copied');
        return { written: params.rows };
      }
    }

    const run = await runJobInProcess(CopyRowsJob, { rows: 10 });

    // Params, result and checkpoint are typed from the class (checked by tsc).
    expectTypeOf(runJobInProcess<typeof CopyRowsJob>)
      .parameter(1)
      .toEqualTypeOf<{ rows: number }>();
    expectTypeOf(run.result).toEqualTypeOf<{ written: number } | null>();
    expectTypeOf(run.checkpoints).toEqualTypeOf<{ offset: number }[]>();

    expect(run).toMatchObject({ status: 'Completed', outcome: 'completed', exitCode: 0, error: null });
    expect(run.result).toEqual({ written: 10 });
    expect(run.progress.map(({ ratio, message }) => ({ ratio, message }))).toEqual([
      { ratio: 0.25, message: 'a quarter' },
      { ratio: 0.75, message: 'three quarters' },
    ]);
    expect(run.checkpoints).toEqual([{ offset: 5 }, { offset: 10 }]);
    expect(run.checkpoint).toEqual({ offset: 10 });
    expect(run.attempts).toMatchObject([{ attempt: 1, outcome: 'Completed', error: null, retryInMs: null }]);
    expect(run.logs).toContainEqual(
      expect.objectContaining({
        level: 'info',
        message: 'rows copied',
        rows: 10,
        labels: { orchestrationId: 'test-orchestration', jobId: 'job-0', jobName: 'copy_rows', attempt: '1' },
      }),
    );
  });

  it('retries a TransientError with the class backoff, without waiting it, and completes on the next attempt', async () => {
    const seen: number[] = [];
    @JobName('flaky', { maxAttempts: 3, backoff: { initialMs: 30_000, jitter: false } })
    class FlakyJob implements E11Job<{ n: number }, number> {
      run(params: { n: number }, ctx: JobContext<{ n: number }>) {
        seen.push(ctx.attempt);
        if (ctx.attempt === 1) throw new TransientError('rate limited', { code: 'RATE_LIMITED' });
        return params.n * 2;
      }
    }

    const started = performance.now();
    const run = await runJobInProcess(FlakyJob, { n: 21 });

    expect(performance.now() - started).toBeLessThan(10_000);
    expect(run.status).toBe('Completed');
    expect(run.result).toBe(42);
    expect(seen).toEqual([1, 2]);
    expect(run.attempts).toMatchObject([
      {
        attempt: 1,
        outcome: 'Errored',
        error: { code: 'RATE_LIMITED', message: 'rate limited' },
        retryInMs: 30_000,
      },
      { attempt: 2, outcome: 'Completed', error: null, retryInMs: null },
    ]);
    expect(run.logs).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'Attempt 1 failed; retrying.', retryInMs: 30_000 }),
    );
  });

  it('waits the backoff through the given wait function', async () => {
    const waits: number[] = [];
    @JobName('flaky_waiting', { backoff: { initialMs: 40, jitter: false } })
    class FlakyJob implements E11Job {
      run(_params: unknown, ctx: JobContext) {
        if (ctx.attempt < 3) throw new TransientError('busy');
        return 'done';
      }
    }

    const run = await runJobInProcess(
      FlakyJob,
      {},
      {
        wait: async (ms, signal) => {
          waits.push(ms);
          await delay(ms, signal);
        },
      },
    );

    expect(run.status).toBe('Completed');
    expect(waits).toEqual([40, 80]);
    expect(run.attempts.map((attempt) => attempt.retryInMs)).toEqual([40, 80, null]);
  });

  it('never retries a PermanentError, whatever attempts remain', async () => {
    let runs = 0;
    @JobName('permanent', { maxAttempts: 5 })
    class PermanentJob implements E11Job {
      run() {
        runs++;
        throw new PermanentError('month 13 does not exist');
      }
    }

    const run = await runJobInProcess(PermanentJob, {});

    expect(runs).toBe(1);
    expect(run).toMatchObject({ status: 'Errored', outcome: 'failed', deadLettered: false, result: null });
    expect(run.error).toMatchObject({
      name: 'PermanentError',
      code: 'E11_PERMANENT',
      message: 'month 13 does not exist',
      retryable: false,
      attempt: 1,
    });
    expect(run.error?.stack).toContain('month 13 does not exist');
    expect(run.attempts).toHaveLength(1);
  });

  it('dead-letters a job whose retryable failures use up the attempts a kick-off allows', async () => {
    let runs = 0;
    @JobName('always_busy', { maxAttempts: 5 })
    class BusyJob implements E11Job {
      run() {
        runs++;
        throw new TransientError('busy');
      }
    }

    const run = await runJobInProcess(BusyJob, {}, { maxAttempts: 2 });

    expect(runs).toBe(2);
    expect(run).toMatchObject({ status: 'Errored', deadLettered: true });
    expect(run.error).toMatchObject({ code: 'E11_TRANSIENT', retryable: true, attempt: 2 });
  });

  it('aborts the signal with E11_TIMEOUT when an attempt exceeds the timeout, and records it TimedOut', async () => {
    const reasons: unknown[] = [];
    @JobName('slow', { maxAttempts: 1, timeout: 50 })
    class SlowJob implements E11Job {
      async run(_params: unknown, ctx: JobContext) {
        try {
          return await untilAborted(ctx.signal);
        } finally {
          reasons.push(ctx.signal.reason);
        }
      }
    }

    const run = await runJobInProcess(SlowJob, {});

    expect(reasons).toEqual([expect.objectContaining({ code: 'E11_TIMEOUT' })]);
    expect(run).toMatchObject({ status: 'Errored', deadLettered: true });
    expect(run.error).toMatchObject({ code: 'E11_TIMEOUT', retryable: true });
    expect(run.error?.message).toContain('exceeded the job timeout of 50 ms');
    expect(run.attempts).toMatchObject([{ outcome: 'TimedOut', error: { code: 'E11_TIMEOUT' } }]);
  });

  it('hands back a job that ignores its aborted signal once the termination grace is over', async () => {
    let release: () => void = () => undefined;
    const ignored = new Promise<void>((resolve) => (release = resolve));
    @JobName('stubborn', { maxAttempts: 2 })
    class StubbornJob implements E11Job {
      async run() {
        await ignored;
      }
    }

    try {
      const run = await runJobInProcess(StubbornJob, {}, { timeout: 20, terminationGraceMs: 50 });
      expect(run).toMatchObject({ status: 'Pending', outcome: 'failed', exitCode: 1 });
      expect(run.attempts).toMatchObject([{ outcome: 'TimedOut' }]);
    } finally {
      release();
    }
  });

  it('ends the job Errored with E11_VALIDATION_FAILED naming the field when the params fail the schema', async () => {
    let runs = 0;
    const Params = z.object({ month: z.string().regex(/^\d{4}-\d{2}$/, 'expected YYYY-MM') });
    @JobName('sum_sales_strict', { schema: Params })
    class StrictJob implements E11Job<z.infer<typeof Params>> {
      run() {
        runs++;
        return null;
      }
    }

    const run = await runJobInProcess(StrictJob, { month: 'January' });

    expect(runs).toBe(0);
    expect(run).toMatchObject({ status: 'Errored', deadLettered: false });
    expect(run.error).toMatchObject({ code: 'E11_VALIDATION_FAILED', retryable: false });
    expect(run.error?.message).toBe("Invalid params at 'month': expected YYYY-MM");
    expect(run.logs).toContainEqual(
      expect.objectContaining({ level: 'error', message: "Invalid params at 'month': expected YYYY-MM" }),
    );
  });

  it('redacts sensitive params from logs, progress messages and the stored error', async () => {
    const secret = 'sk-live-0123456789';
    @JobName('charge', { sensitiveKeys: ['apiKey'] })
    class ChargeJob implements E11Job<{ apiKey: string; account: { pin: string } }> {
      run(params: { apiKey: string; account: { pin: string } }, ctx: JobContext) {
        ctx.log.info({ key: params.apiKey }, `calling the API with ${params.apiKey}`);
        ctx.progress(0.5, `pin ${params.account.pin} checked`);
        throw new PermanentError(`the API refused ${params.apiKey}`);
      }
    }

    const run = await runJobInProcess(
      ChargeJob,
      { apiKey: secret, account: { pin: '4321' } },
      { sensitiveKeys: ['pin'] },
    );

    const everything = JSON.stringify(run);
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain('4321');
    expect(run.logs).toContainEqual(
      expect.objectContaining({ message: `calling the API with ${REDACTED}`, key: REDACTED }),
    );
    expect(run.progress.map((p) => p.message)).toEqual([`pin ${REDACTED} checked`]);
    expect(run.error?.message).toBe(`the API refused ${REDACTED}`);
    expect(run.error?.stack).toContain(`the API refused ${REDACTED}`);
    expect(run.attempts[0]?.error?.message).toBe(`the API refused ${REDACTED}`);
  });

  it('resumes from the given checkpoint, and hands a checkpoint saved by a failed attempt to the next', async () => {
    const resumedFrom: (number | undefined)[] = [];
    @JobName('resumable', { maxAttempts: 2 })
    class ResumableJob implements E11Job<{ rows: number }, { written: number }, { offset: number }> {
      async run(params: { rows: number }, ctx: JobContext<{ rows: number }, { offset: number }>) {
        resumedFrom.push(ctx.checkpoint?.offset);
        const offset = (ctx.checkpoint?.offset ?? 0) + 3;
        await ctx.saveCheckpoint({ offset });
        if (ctx.attempt === 1) throw new TransientError('connection reset');
        return { written: params.rows - offset };
      }
    }

    const run = await runJobInProcess(ResumableJob, { rows: 20 }, { checkpoint: { offset: 7 } });

    expect(resumedFrom).toEqual([7, 10]);
    expect(run.checkpoints).toEqual([{ offset: 10 }, { offset: 13 }]);
    expect(run.status).toBe('Completed');
    expect(run.result).toEqual({ written: 7 });
  });

  it('fails the job for a result that is not JSON or over the size limit, as a task would', async () => {
    @JobName('big_result', { maxAttempts: 3 })
    class BigResultJob implements E11Job<{ kind: string }> {
      run(params: { kind: string }) {
        return params.kind === 'bigint' ? { total: 1n } : { blob: 'x'.repeat(70_000) };
      }
    }

    const notJson = await runJobInProcess(BigResultJob, { kind: 'bigint' });
    expect(notJson).toMatchObject({ status: 'Errored', error: { code: 'E11_JOB_FAILED', retryable: false } });
    expect(notJson.error?.message).toContain('not JSON-serializable');
    const tooBig = await runJobInProcess(BigResultJob, { kind: 'big' });
    expect(tooBig.status).toBe('Errored');
    expect(tooBig.error?.message).toMatch(/over the 65536-byte limit/);
    expect(tooBig.attempts).toHaveLength(1);
  });

  it('treats its signal like SIGTERM: the attempt is interrupted and the job handed back while attempts remain', async () => {
    const stop = new AbortController();
    @JobName('interruptible')
    class InterruptibleJob implements E11Job {
      async run(_params: unknown, ctx: JobContext) {
        stop.abort(new Error('shutting down'));
        return untilAborted(ctx.signal);
      }
    }

    const run = await runJobInProcess(InterruptibleJob, {}, { signal: stop.signal });

    expect(run).toMatchObject({ status: 'Pending', outcome: 'interrupted', exitCode: 143 });
    expect(run.attempts).toMatchObject([{ outcome: 'Interrupted', error: { message: 'shutting down' } }]);
  });

  it('records debug lines by default, keeps only the lines at logLevel and above, and times records with the clock', async () => {
    @JobName('chatty')
    class ChattyJob implements E11Job {
      run(_params: unknown, ctx: JobContext) {
        ctx.log.debug('step detail');
        ctx.progress(1, 'done');
        return null;
      }
    }
    const clock = { now: () => Date.UTC(2026, 0, 31, 12) };

    const verbose = await runJobInProcess(ChattyJob, {}, { clock, orchestrationId: 'o-1', jobId: 'j-7' });
    const quiet = await runJobInProcess(ChattyJob, {}, { logLevel: 'info' });

    expect(verbose.logs.find((line) => line.message === 'step detail')).toMatchObject({
      level: 'debug',
      labels: { orchestrationId: 'o-1', jobId: 'j-7', jobName: 'chatty' },
    });
    expect(quiet.logs.map((line) => line.message)).not.toContain('step detail');
    expect(quiet.logs.length).toBeGreaterThan(0);
    expect(verbose.attempts).toMatchObject([{ startedAt: clock.now(), finishedAt: clock.now() }]);
    expect(verbose.progress).toEqual([{ ratio: 1, message: 'done', at: clock.now() }]);
  });

  it('refuses a class without @JobName and params a kick-off would refuse', async () => {
    class Undecorated implements E11Job {
      run() {
        return null;
      }
    }
    @JobName('plain')
    class PlainJob implements E11Job {
      run() {
        return null;
      }
    }

    await expect(runJobInProcess(Undecorated, {})).rejects.toMatchObject({ code: 'E11_UNKNOWN_JOB_NAME' });
    await expect(runJobInProcess(PlainJob, [] as never)).rejects.toMatchObject({
      code: 'E11_INVALID_PARAMS',
    });
    for (const options of [
      { maxAttempts: 0 },
      { timeout: 0 },
      { terminationGraceMs: -1 },
      { checkpoint: { total: 1n } },
    ]) {
      await expect(runJobInProcess(PlainJob, {}, options)).rejects.toMatchObject({
        code: 'E11_INVALID_OPTIONS',
        context: { path: Object.keys(options)[0] },
      });
    }
  });
});
