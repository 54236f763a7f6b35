/** Whether a process with this id still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * After the stack stopped: every task process the Cloud Run emulator started has exited, and the
 * functions server is down. Resolves with one line per leftover.
 */
export async function leftoverProcesses(
  taskPids: readonly number[],
  functionsRunning: boolean,
): Promise<string[]> {
  const deadline = Date.now() + 5_000;
  let left = taskPids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    // An exit is reported by the OS, not to us: poll it, bounded.
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = left.filter(alive);
  }
  return [
    ...left.map((pid) => `process ${pid} (a task) left behind`),
    ...(functionsRunning ? ['the functions server left behind'] : []),
  ];
}
