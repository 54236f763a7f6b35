import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { CollectedSpan } from './trace-collector.js';

/**
 * Every span the collectors wrote to `dir` (all `*.jsonl` files), oldest first. A line that is not
 * complete JSON (a process killed while writing) is skipped. An absent directory holds no spans.
 */
export async function readTraces(dir: string): Promise<CollectedSpan[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((file) => file.endsWith('.jsonl'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const spans: CollectedSpan[] = [];
  for (const file of files) {
    for (const line of (await readFile(join(dir, file), 'utf8')).split('\n')) {
      if (line.trim() === '') continue;
      try {
        spans.push(JSON.parse(line) as CollectedSpan);
      } catch {
        // A partial last line: its span is lost, the others count.
      }
    }
  }
  return spans.sort((a, b) => a.startMs - b.startMs);
}

/** Options of {@link formatTraceTree}. */
export interface TraceTreeOptions {
  /** The trace to render. @default the trace of the earliest root span */
  traceId?: string;
  /** Attributes shown after each span's name. @default a few of E11's (job index, attempt, execution, status) */
  attributes?: readonly string[];
  /**
   * The spans to show; a hidden span's children show under its nearest shown ancestor (e.g. only
   * E11's and the job's spans, without the client libraries' own). @default every span
   */
  filter?: (span: CollectedSpan) => boolean;
  /**
   * Siblings of the same name shown under one parent; the others fold into one `… N more` line (their
   * subtrees hidden too), except those whose subtree holds an error or a producer (publish) span.
   * @default all
   */
  maxSiblings?: number;
}

const SHOWN = [
  'e11.job.index',
  'e11.attempt',
  'e11.execution.name',
  'e11.status',
  'messaging.destination.name',
] as const;

/** An attribute value in a tree line: an execution's short id rather than its resource name. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.includes('/') ? (text.split('/').at(-1) ?? text) : text;
}

/**
 * One trace as an indented tree, one line per span: its name, its duration, key attributes, `ERROR`
 * when it failed, and the spans it links to (`→ 3 links`). Children are in start order; a span whose
 * parent is not among `spans` shows as a root.
 */
export function formatTraceTree(spans: readonly CollectedSpan[], options: TraceTreeOptions = {}): string {
  const ids = new Set(spans.map((span) => span.spanId));
  const isRoot = (span: CollectedSpan) => span.parentSpanId === null || !ids.has(span.parentSpanId);
  const traceId =
    options.traceId ?? [...spans].sort((a, b) => a.startMs - b.startMs).find(isRoot)?.traceId ?? '';
  const all = spans.filter((span) => span.traceId === traceId);
  const byId = new Map(all.map((span) => [span.spanId, span]));
  const inTrace = all.filter(options.filter ?? (() => true));
  const shownIds = new Set(inTrace.map((span) => span.spanId));
  /** The nearest shown ancestor's id, or null for a (shown) root. */
  const parentOf = (span: CollectedSpan): string | null => {
    let parent = span.parentSpanId === null ? undefined : byId.get(span.parentSpanId);
    while (parent !== undefined && !shownIds.has(parent.spanId)) {
      parent = parent.parentSpanId === null ? undefined : byId.get(parent.parentSpanId);
    }
    return parent?.spanId ?? null;
  };
  const children = new Map<string, CollectedSpan[]>();
  const roots: CollectedSpan[] = [];
  for (const span of inTrace) {
    const parent = parentOf(span);
    if (parent === null) {
      roots.push(span);
      continue;
    }
    const list = children.get(parent) ?? [];
    list.push(span);
    children.set(parent, list);
  }
  const notable = (span: CollectedSpan): boolean =>
    span.status.code === 'error' ||
    span.kind === 'producer' ||
    (children.get(span.spanId) ?? []).some(notable);
  const keys = options.attributes ?? SHOWN;
  const lines = [`trace ${traceId} (${inTrace.length} spans)`];
  const render = (span: CollectedSpan, depth: number) => {
    const attributes = keys
      .filter((key) => span.attributes[key] !== undefined)
      .map((key) => `${key.replace(/^e11\./, '')}=${shown(span.attributes[key])}`);
    const parts = [`${'  '.repeat(depth + 1)}${span.name}`, `${Math.round(span.durationMs)} ms`];
    if (attributes.length > 0) parts.push(`[${attributes.join(' ')}]`);
    if (span.status.code === 'error') parts.push('ERROR');
    if (span.links.length > 0) parts.push(`→ ${span.links.length} link${span.links.length === 1 ? '' : 's'}`);
    lines.push(parts.join('  '));
    const shownOf = new Map<string, number>();
    const hidden = new Map<string, number>();
    for (const child of (children.get(span.spanId) ?? []).sort((a, b) => a.startMs - b.startMs)) {
      const count = (shownOf.get(child.name) ?? 0) + 1;
      shownOf.set(child.name, count);
      if (count > (options.maxSiblings ?? Infinity) && !notable(child))
        hidden.set(child.name, (hidden.get(child.name) ?? 0) + 1);
      else render(child, depth + 1);
    }
    for (const [name, count] of hidden) lines.push(`${'  '.repeat(depth + 2)}… ${count} more ${name}`);
  };
  for (const root of roots.sort((a, b) => a.startMs - b.startMs)) render(root, 0);
  return lines.join('\n');
}
