import { stillAliveAfter } from '../helpers/processes.js';

/**
 * After the stack stopped: every task process the Cloud Run emulator started has exited, and the
 * functions server is down. Resolves with one line per leftover.
 */
export async function leftoverProcesses(
  taskPids: readonly number[],
  functionsRunning: boolean,
): Promise<string[]> {
  const left = await stillAliveAfter(taskPids, 5_000);
  return [
    ...left.map((pid) => `process ${pid} (a task) left behind`),
    ...(functionsRunning ? ['the functions server left behind'] : []),
  ];
}
