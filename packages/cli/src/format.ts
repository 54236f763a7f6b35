import type { OrchestrationCost } from '@e11/core';
import type { KickOffEstimate, OrchestrationInfo } from '@e11/sdk';

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
    ...(info.cost ? [`task time     ${describeCost(info.cost)}`] : []),
  ];
}

/** An amount of money with enough digits to show a few task seconds' worth: `0.000123 USD`, `12.35 USD`. */
export function formatAmount(amount: number, currency: string): string {
  return `${amount >= 100 ? amount.toFixed(2) : amount.toFixed(6)} ${currency}`;
}

/** `12.3 s (1 vCPU, 0.5 GiB per task)  cost 0.000234 USD` */
export function describeCost(cost: OrchestrationCost): string {
  const per = `${cost.cpu} vCPU, ${cost.memoryGiB} GiB per task`;
  return `${cost.taskSeconds.toFixed(1)} s (${per})  cost ${formatAmount(cost.amount, cost.currency)}`;
}

/** The lines of a dry-run estimate: what it would cost, and what the average is taken from. */
export function describeEstimate(estimate: KickOffEstimate): string[] {
  const { resources, basis } = estimate;
  const per = `${resources.cpu} vCPU, ${resources.memoryGiB} GiB per task (${resources.source})`;
  const head = [
    `job           ${estimate.jobName} (Cloud Run job ${estimate.service})`,
    `jobs          ${estimate.jobs}`,
    `resources     ${per}`,
  ];
  if (estimate.amount === null || estimate.taskSeconds === null || estimate.taskSecondsPerJob === null) {
    return [...head, `estimate      none: ${estimate.reason ?? 'no history'}`];
  }
  return [
    ...head,
    `task time     ${estimate.taskSeconds.toFixed(1)} s (${estimate.taskSecondsPerJob.toFixed(2)} s per job)`,
    `estimate      ${formatAmount(estimate.amount, estimate.currency)}`,
    `basis         ${basis.jobs} jobs of the last ${basis.orchestrations} ended orchestrations`,
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
