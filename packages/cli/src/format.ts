import type { OrchestrationInfo } from '@e11/sdk';

/** Plain-text rendering for the CLI (the `--json` output is the raw objects instead). */

/** `InProgress  3/10 (30%)  completed 2  errored 1  running 4  pending 3` */
export function progressLine(info: OrchestrationInfo): string {
  const done = info.counts.completed + info.counts.errored + info.counts.cancelled;
  const parts = [
    info.status.padEnd(10),
    `${done}/${info.total} (${Math.floor(info.progress * 100)}%)`,
    `completed ${info.counts.completed}`,
    `errored ${info.counts.errored}`,
  ];
  if (info.counts.cancelled > 0) parts.push(`cancelled ${info.counts.cancelled}`);
  parts.push(`running ${info.counts.inProgress}`, `pending ${info.counts.pending}`);
  if (info.paused) parts.push('paused (pending jobs wait for resume)');
  const waiting = info.total - (info.admitted ?? info.total);
  const slot = waiting > 0 ? ` (${waiting} wait for a slot)` : '';
  if (info.maxParallel !== null)
    parts.push(`at most ${info.maxParallel} at once${info.concurrencyKey ? '' : slot}`);
  if (info.concurrencyKey !== null) parts.push(`concurrency key ${info.concurrencyKey}${slot}`);
  if (info.endReason === 'maxFailures') parts.push(`failed fast: more than ${info.maxFailures} failed`);
  if (info.endReason === 'successPolicy') parts.push(`ended early: ${info.successNeeded} succeeded`);
  return parts.join('  ');
}

/** A multi-line summary of one orchestration. */
export function describeOrchestration(info: OrchestrationInfo): string[] {
  const tags = Object.entries(info.tags)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  return [
    `orchestration  ${info.id}`,
    `job           ${info.jobName} (${info.mode}, Cloud Run job ${info.service}, run ${info.epoch})`,
    `status        ${progressLine(info)}`,
    `created       ${info.createdAt.toISOString()}`,
    ...(info.startAt ? [`starts        ${info.startAt.toISOString()} (nothing launches before)`] : []),
    ...(info.completedAt ? [`completed     ${info.completedAt.toISOString()}`] : []),
    ...(tags ? [`tags          ${tags}`] : []),
  ];
}

/** Left-aligned columns separated by two spaces. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const render = (row: readonly string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [render(header), ...rows.map(render)];
}
