import { describe, expect, it } from 'vitest';

import type { CollectedSpan } from './trace-collector.js';
import { formatTraceTree } from './trace-tree.js';

const span = (
  spanId: string,
  parentSpanId: string | null,
  name: string,
  startMs: number,
  extra: Partial<CollectedSpan> = {},
): CollectedSpan => ({
  traceId: 't1',
  spanId,
  parentSpanId,
  name,
  kind: 'internal',
  scope: 's',
  startMs,
  durationMs: 12.4,
  status: { code: 'unset' },
  attributes: {},
  events: [],
  links: [],
  pid: 1,
  service: 'test',
  ...extra,
});

describe('formatTraceTree', () => {
  it('indents children under their parent in start order, with durations, key attributes, errors and links', () => {
    const spans = [
      span('b', 'a', 'e11.launch job', 2, {
        attributes: { 'e11.execution.name': 'projects/p/jobs/j/executions/j-abcde' },
      }),
      span('a', null, 'kickOffJob job', 1),
      span('c', 'b', 'e11.attempt job', 3, { status: { code: 'error' }, attributes: { 'e11.attempt': 1 } }),
      span('d', 'a', 'onJobWritten job', 4, { links: [{ traceId: 't1', spanId: 'c', attributes: {} }] }),
      span('x', null, 'other trace', 0, { traceId: 't2' }),
    ];
    expect(formatTraceTree(spans, { traceId: 't1' }).split('\n')).toEqual([
      'trace t1 (4 spans)',
      '  kickOffJob job  12 ms',
      '    e11.launch job  12 ms  [execution.name=j-abcde]',
      '      e11.attempt job  12 ms  [attempt=1]  ERROR',
      '    onJobWritten job  12 ms  → 1 link',
    ]);
  });

  it('folds siblings of one name past maxSiblings into one line, but keeps failures and publishes', () => {
    const spans = [
      span('a', null, 'root', 0),
      ...[1, 2, 3, 4, 5].map((i) => span(`l${i}`, 'a', 'launch', i)),
      span('p', 'l4', 'publish', 6, { kind: 'producer' }),
    ];
    expect(formatTraceTree(spans, { maxSiblings: 2 }).split('\n')).toEqual([
      'trace t1 (7 spans)',
      '  root  12 ms',
      '    launch  12 ms',
      '    launch  12 ms',
      '    launch  12 ms',
      '      publish  12 ms',
      '    … 2 more launch',
    ]);
  });

  it("shows only the spans the filter keeps, a hidden span's children under its nearest shown ancestor", () => {
    const spans = [
      span('a', null, 'root', 0),
      span('f', 'a', 'Batch.Commit', 1, { scope: 'client-library' }),
      span('g', 'f', 'inner', 2),
    ];
    expect(formatTraceTree(spans, { filter: (s) => s.scope !== 'client-library' }).split('\n')).toEqual([
      'trace t1 (2 spans)',
      '  root  12 ms',
      '    inner  12 ms',
    ]);
  });
});
