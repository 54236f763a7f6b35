import { randomInt } from 'node:crypto';

import { MAX_EXECUTIONS_PER_JOB } from './defaults.js';
import type { ExecutionRecord } from './execution-record.js';

const ID_LETTERS = 'abcdefghijklmnopqrstuvwxyz';

function randomSuffix(): string {
  let suffix = '';
  for (let i = 0; i < 5; i += 1) suffix += ID_LETTERS[randomInt(ID_LETTERS.length)];
  return suffix;
}

/** Every execution the emulator still keeps, by full name, in creation order. */
export class ExecutionStore {
  private readonly byName = new Map<string, ExecutionRecord>();
  private seq = 0;

  /** The next creation sequence number. */
  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** A short execution id, `{jobId}-{5 letters}`, unused under `jobName`. */
  newExecutionId(jobName: string, jobId: string): string {
    for (;;) {
      const id = `${jobId}-${randomSuffix()}`;
      if (!this.byName.has(`${jobName}/executions/${id}`)) return id;
    }
  }

  add(execution: ExecutionRecord): void {
    this.byName.set(execution.name, execution);
  }

  get(name: string): ExecutionRecord | undefined {
    return this.byName.get(name);
  }

  remove(name: string): void {
    this.byName.delete(name);
  }

  /** Oldest first. */
  all(): ExecutionRecord[] {
    return [...this.byName.values()];
  }

  /** Executions of a project and region that have not ended yet (pending or running). */
  unfinishedIn(region: { project: string; location: string }): number {
    let count = 0;
    for (const execution of this.byName.values()) {
      const { project, location } = execution.spec.name;
      if (!execution.outcome && project === region.project && location === region.location) count += 1;
    }
    return count;
  }

  /** The executions of one job (full job name), newest first. */
  forJob(jobName: string): ExecutionRecord[] {
    return this.all()
      .filter((e) => e.jobName === jobName)
      .reverse();
  }

  /** Drops the oldest finished executions of a job beyond the 1,000 that Cloud Run keeps. */
  prune(jobName: string): void {
    const executions = this.forJob(jobName);
    let excess = executions.length - MAX_EXECUTIONS_PER_JOB;
    for (const execution of executions.reverse()) {
      if (excess <= 0) break;
      if (execution.outcome) {
        this.byName.delete(execution.name);
        excess -= 1;
      }
    }
  }
}
