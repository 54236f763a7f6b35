import { LocalProcessLauncher } from '@e11/sdk';
import { afterAll, describe, expect, it } from 'vitest';

const launcher = new LocalProcessLauncher({ command: process.execPath, killGraceMs: 1_000 });
afterAll(() => launcher.close());

/** Polls the launcher's own view of `executionName` until it is done, within 20 s. */
async function whenDone(executionName: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const state = await launcher.describe(executionName);
    if (state?.done || Date.now() > deadline) return state;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('LocalProcessLauncher.describe', () => {
  it('tells a running execution from an ended one, with its tasks counted by exit code', async () => {
    const { executionName } = await launcher.launch({
      service: 'exits',
      env: {},
      taskCount: 3,
      args: ['-e', 'process.exit(Number(process.env.CLOUD_RUN_TASK_INDEX) === 0 ? 0 : 1)'],
    });
    expect(await whenDone(executionName)).toMatchObject({
      done: true,
      succeeded: 1,
      failed: 2,
      cancelled: 0,
    });
    expect(await launcher.describe('local/jobs/exits/executions/unknown')).toBeUndefined();
  });

  it('counts the tasks of a cancelled execution as cancelled, and says it is running until then', async () => {
    const { executionName } = await launcher.launch({
      service: 'waits',
      env: {},
      taskCount: 1,
      args: ['-e', 'setInterval(() => undefined, 1000)'],
    });
    expect(await launcher.describe(executionName)).toMatchObject({ done: false });
    await launcher.cancel(executionName);
    expect(await launcher.describe(executionName)).toMatchObject({ done: true, cancelled: 1 });
  });
});
