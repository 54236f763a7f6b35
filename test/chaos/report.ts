import type { ChaosReport } from './run-chaos.js';

const n = (value: number) => value.toLocaleString('en-US');

/** The one-line summary, e.g. `chaos: seed 1234, faults 212, orchestrations 40, jobs 1,600, events 40, lost 0, duplicates 0, overlaps 0, above maxParallel 0 (of 12 limited)`. */
export function reportLine(report: ChaosReport): string {
  return (
    `chaos: seed ${report.seed}, faults ${n(report.faults)}, orchestrations ${n(report.orchestrations)}, ` +
    `pipelines ${n(report.pipelines)}, ` +
    `jobs ${n(report.jobs)}, events ${n(report.events)}, lost ${n(report.lost)}, ` +
    `duplicates ${n(report.duplicates)}` +
    (report.republished > 0
      ? ` (+${n(report.republished)} after a publisher killed before its record)`
      : '') +
    `, overlaps ${n(report.overlaps)}, ` +
    `above maxParallel ${n(report.parallelExceeded)} (of ${n(report.limited)} limited)`
  );
}

/**
 * The summary line and timings, then each broken invariant, then — when something broke, or with
 * E11_CHAOS_VERBOSE=1 — the fault log of the run.
 */
export function reportText(report: ChaosReport, verbose = process.env.E11_CHAOS_VERBOSE === '1'): string {
  const { start, faults, settle, check } = report.seconds;
  const lines = [
    reportLine(report),
    `  (seconds: stack ${start}, faults ${faults}, settle ${settle}, checks ${check}; ${report.executions})`,
  ];
  if (report.abandoned > 0)
    lines.push(`  (${report.abandoned} kick-off(s) died before registering: removed, as expected)`);
  if (report.violations.length > 0) {
    lines.push(`  ${report.violations.length} violation(s); replay with --seed ${report.seed}:`);
    lines.push(...report.violations.map((line) => `  ✗ ${line}`));
  }
  if (verbose || report.violations.length > 0)
    lines.push('  faults:', ...report.log.map((line) => `    ${line}`));
  return lines.join('\n');
}
