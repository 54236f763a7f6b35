import { createRequire } from 'node:module';

/**
 * Counts Firestore document reads and writes made by every client in this process, the way Firestore
 * bills them: a write per document written (batches and transactions included), a read per document
 * returned by a get, a query or a listener update, and one read per aggregation (up to 1,000 index
 * entries). Bench-only instrumentation: it wraps internal methods of @google-cloud/firestore 9.
 */
export interface OpCounts {
  reads: number;
  writes: number;
}

const counts: OpCounts = { reads: 0, writes: 0 };
/** Reads and writes per `kind:collection` (the last collection id of the path, prefix stripped). */
const byTarget = new Map<string, number>();
let installed = false;

/** `orchestrations/o1/jobs/j1` → `jobs`; the collection prefix (up to the last `_`) is dropped. */
function collectionOf(path: string): string {
  const segments = path.split('/');
  const collection =
    segments.length % 2 === 0 ? segments[segments.length - 2] : segments[segments.length - 1];
  return (collection ?? '?').replace(/^.*_/, '');
}

function note(kind: string, path: string, n: number) {
  const key = `${kind}:${collectionOf(path)}`;
  byTarget.set(key, (byTarget.get(key) ?? 0) + n);
}

type AnyFn = (this: unknown, ...args: unknown[]) => unknown;

function wrap(
  proto: Record<string, unknown>,
  name: string,
  after: (self: unknown, args: unknown[], result: unknown) => void,
) {
  const original = proto[name] as AnyFn;
  proto[name] = async function (this: unknown, ...args: unknown[]) {
    const result = await original.apply(this, args);
    after(this, args, result);
    return result;
  };
}

/** Installs the counters (once). */
export function installOpCounter(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const base = require.resolve('@google-cloud/firestore').replace(/index\.js$/, '');
  const { WriteBatch } = require(`${base}write-batch.js`) as {
    WriteBatch: { prototype: Record<string, unknown> };
  };
  const { DocumentReader } = require(`${base}document-reader.js`) as {
    DocumentReader: { prototype: Record<string, unknown> };
  };
  const { Query } = require(`${base}reference/query.js`) as { Query: { prototype: Record<string, unknown> } };
  const { AggregateQuery } = require(`${base}reference/aggregate-query.js`) as {
    AggregateQuery: { prototype: Record<string, unknown> };
  };
  const { DocumentReference } = require(`${base}reference/document-reference.js`) as {
    DocumentReference: { prototype: Record<string, unknown> };
  };
  const writeCommit = WriteBatch.prototype._commit as AnyFn;
  WriteBatch.prototype._commit = function (this: { _ops: { docPath: string }[] }, ...args: unknown[]) {
    counts.writes += this._ops.length;
    for (const op of this._ops) note('write', op.docPath, 1);
    return writeCommit.apply(this, args);
  };
  wrap(DocumentReader.prototype, '_get', (self) => {
    const documents = (self as { allDocuments: ({ path?: string } | string)[] }).allDocuments;
    counts.reads += documents.length;
    for (const doc of documents) note('get', typeof doc === 'string' ? doc : (doc.path ?? '?'), 1);
  });
  wrap(Query.prototype, '_get', (self, _args, response) => {
    const n = Math.max(1, (response as { result: { size: number } }).result.size);
    counts.reads += n;
    note('query', queryPath(self), n);
  });
  wrap(AggregateQuery.prototype, '_get', (self) => {
    counts.reads += 1;
    note('aggregate', queryPath((self as { _query?: unknown })._query), 1);
  });
  for (const proto of [Query.prototype, DocumentReference.prototype]) {
    const original = proto.onSnapshot as AnyFn;
    proto.onSnapshot = function (this: unknown, onNext: (snapshot: unknown) => void, ...rest: unknown[]) {
      return original.call(
        this,
        (snapshot: { docChanges?: () => unknown[] }) => {
          const n = snapshot.docChanges ? Math.max(1, snapshot.docChanges().length) : 1;
          counts.reads += n;
          note('listen', queryPath(this), n);
          onNext(snapshot);
        },
        ...rest,
      );
    };
  }
}

function queryPath(query: unknown): string {
  const q = query as { path?: string; _queryOptions?: { collectionId?: string } } | undefined;
  return q?.path ?? q?._queryOptions?.collectionId ?? '?';
}

/** Operations per `kind:collection` so far (kind: write, get, query, aggregate, listen). */
export function opBreakdown(): Record<string, number> {
  return Object.fromEntries([...byTarget].sort(([a], [b]) => a.localeCompare(b)));
}

/** The counts so far. */
export function opCounts(): OpCounts {
  return { ...counts };
}

/** Counts made while `fn` runs (all clients in the process: run one measurement at a time). */
export async function countOps<T>(fn: () => Promise<T>): Promise<{ result: T; ops: OpCounts }> {
  const before = opCounts();
  const result = await fn();
  const after = opCounts();
  return { result, ops: { reads: after.reads - before.reads, writes: after.writes - before.writes } };
}
