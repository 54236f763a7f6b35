import { randomUUID } from 'node:crypto';

import { status } from '@grpc/grpc-js';

import { MAX_OPERATIONS } from './defaults.js';
import type { ExecutionRecord } from './execution-record.js';
import { completionMessage } from './execution-record.js';
import type { LocationName } from './resource-names.js';
import { locationName } from './resource-names.js';
import { executionToProto } from './to-proto.js';

/** What an operation tracks: a run, a cancel or a delete of one execution, or a validate-only run. */
export type OperationKind = 'run' | 'cancel' | 'delete' | 'validate';

/** One long-running operation. Every kind carries its execution as metadata. */
export interface OperationRecord {
  name: string;
  kind: OperationKind;
  execution: ExecutionRecord;
}

const EXECUTION_TYPE_URL = 'type.googleapis.com/google.cloud.run.v2.Execution';

/**
 * The emulator's `google.longrunning` operations, named
 * `projects/{p}/locations/{l}/operations/{uuid}` like Cloud Run's. An operation is done when its
 * execution has ended; it does not keep a separate state.
 */
export class OperationStore {
  private readonly byName = new Map<string, OperationRecord>();

  constructor(private readonly encodeExecution: (execution: object) => Buffer) {}

  create(where: LocationName, kind: OperationKind, execution: ExecutionRecord): OperationRecord {
    const operation = { name: `${locationName(where)}/operations/${randomUUID()}`, kind, execution };
    this.byName.set(operation.name, operation);
    this.prune();
    return operation;
  }

  get(name: string): OperationRecord | undefined {
    return this.byName.get(name);
  }

  delete(name: string): boolean {
    return this.byName.delete(name);
  }

  /** Operations whose name starts with `prefix`, oldest first. */
  list(prefix: string): OperationRecord[] {
    return [...this.byName.values()].filter((op) => op.name.startsWith(prefix));
  }

  isDone(operation: OperationRecord): boolean {
    return operation.kind === 'validate' || operation.execution.outcome !== undefined;
  }

  /** Resolves when the operation is done or after `timeoutMs`, whichever comes first. */
  async wait(operation: OperationRecord, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.isDone(operation)) return;
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      signal?.addEventListener('abort', finish, { once: true });
      // Ended either way: a rejected `done` ends the wait like a resolved one.
      operation.execution.done.then(finish, finish);
    });
  }

  /**
   * The `google.longrunning.Operation`: `metadata` is the Execution (Any) at every stage; once done,
   * `response` is the final Execution, or `error` when a run ended with failed tasks (as Cloud Run
   * reports a failed execution on its RunJob operation). A cancelled run ends with a response.
   */
  toProto(operation: OperationRecord): Record<string, unknown> {
    const execution = executionToProto(operation.execution);
    const packed = { typeUrl: EXECUTION_TYPE_URL, value: this.encodeExecution(execution) };
    const done = this.isDone(operation);
    const base = { name: operation.name, metadata: packed, done };
    if (!done || operation.kind === 'validate') return base;
    if (operation.kind === 'run' && operation.execution.outcome === 'failed') {
      return {
        ...base,
        error: { code: status.FAILED_PRECONDITION, message: completionMessage(operation.execution) },
      };
    }
    return { ...base, response: packed };
  }

  /** Drops the oldest finished operations beyond the limit. */
  private prune(): void {
    let excess = this.byName.size - MAX_OPERATIONS;
    if (excess <= 0) return;
    for (const operation of this.byName.values()) {
      if (excess <= 0) break;
      if (this.isDone(operation)) {
        this.byName.delete(operation.name);
        excess -= 1;
      }
    }
  }
}
