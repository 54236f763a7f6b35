import type { ChaosReport } from './run-chaos.js';

const n = (value: number) => value.toLocaleString('en-US');

/** The one-line summary, e.g. `chaos: seed 1234, faults 212, orchestrations 40, jobs 1,600, events 40, lost 0, duplicates 0, overlaps 0`. */
export function reportLine(report: ChaosReport): string {
  return (
    `chaos: seed ${report.seed}, faults ${n(report.faults)}, orchestrations ${n(report.orchestrations)}, ` +
    `jobs ${n(report.jobs)}, events ${n(report.events)}, lost ${n(report.lost)}, ` +
    `duplicates ${n(report.duplicates)}, overlaps ${n(report.overlaps)}`
  );
}

/** The summary line, then each broken invariant, then (when something broke) the fault log to replay it. */
export function reportText(report: ChaosReport): string {
  const lines = [reportLine(report)];
  if (report.abandoned > 0)
    lines.push(`  (${report.abandoned} kick-off(s) died before registering: removed, as expected)`);
  if (report.violations.length > 0) {
    lines.push(`  ${report.violations.length} violation(s); replay with --seed ${report.seed}:`);
    lines.push(...report.violations.map((line) => `  ✗ ${line}`));
    lines.push('  faults:', ...report.log.map((line) => `    ${line}`));
  }
  return lines.join('\n');
}
