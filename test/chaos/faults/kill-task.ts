import { CHAOS_SERVICE } from '../chaos-stack.js';

import type { Fault } from './fault.js';

/** SIGKILLs the process of a task that is running now (Cloud Run then retries it or the sweeper does). */
export const killTask: Fault = {
  name: 'kill-task',
  async inject({ chaos, random }) {
    const running = chaos.stack.cloudRun
      .listExecutions()
      .filter((e) => e.jobId === CHAOS_SERVICE && e.state === 'running')
      .flatMap((e) =>
        e.tasks.filter((t) => t.state === 'running').map((t) => ({ name: e.name, index: t.index })),
      );
    if (running.length === 0) return null;
    const task = random.pick(running);
    const killed = await chaos.stack.cloudRun.faults.killTask(task.name, task.index, 'SIGKILL');
    return killed ? `SIGKILL task ${task.index} of ${task.name.split('/').at(-1) ?? ''}` : null;
  },
};

/** SIGKILLs the next task attempt that starts, a random moment after its start. */
export const killNextTask: Fault = {
  name: 'kill-next-task',
  inject({ chaos, random }) {
    const afterMs = random.int(50, 2_000);
    chaos.stack.cloudRun.faults.killNextTaskAfter(afterMs, 'SIGKILL');
    return Promise.resolve(`SIGKILL the next task ${afterMs} ms after it starts`);
  },
};
