import type { ImageSizeResult } from './image-size.js';
import type { RunnerOverheadResult } from './runner-overhead.js';

/** A row of the bench's targets table. */
export interface Target {
  target: string;
  value: string;
  met: boolean;
}

/** The job image's budget: the runner's production dependencies, installed. */
export const IMAGE_TARGET_MB = 50;
/** Runner process start → run(), against bare Node doing the same read and write. */
export const START_TARGET_RATIO = 1.15;
/** Runner peak RSS against bare Node's. */
export const RSS_TARGET_RATIO = 1.1;

/** The targets the container side answers for: start time, memory, image size. */
export function runnerTargets(overhead: RunnerOverheadResult, image: ImageSizeResult): Target[] {
  const rssRatio = overhead.peakRssMb.ratio;
  return [
    {
      target: 'runner overhead ≤ 1.5× bare Node (start → exit)',
      value: `${overhead.totalMs.ratio}×`,
      met: overhead.totalMs.ratio <= 1.5,
    },
    {
      target: `runner start → run() ≤ ${START_TARGET_RATIO}× bare Node`,
      value: `${overhead.startToRunMs.ratio}×`,
      met: overhead.startToRunMs.ratio <= START_TARGET_RATIO,
    },
    {
      target: `runner peak RSS ≤ ${RSS_TARGET_RATIO}× bare Node`,
      value: `${rssRatio}× (${overhead.peakRssMb.runner} MB)`,
      met: rssRatio <= RSS_TARGET_RATIO,
    },
    {
      target: `job image: runner production dependencies ≤ ${IMAGE_TARGET_MB} MB, no Pub/Sub client`,
      value: `${image.installedMb} MB${image.pubsubInstalled ? ' + @google-cloud/pubsub' : ''}`,
      met: image.installedMb <= IMAGE_TARGET_MB && !image.pubsubInstalled,
    },
  ];
}

/** Sections 4 (runner overhead) and 6 (job image) of bench/results.md. */
export function renderRunnerSections(overhead: RunnerOverheadResult, image: ImageSizeResult): string[] {
  return [
    `**4. Runner overhead** (median of ${overhead.runs} processes each)`,
    '',
    '| | runE11Job | bare Node (same read + write) | ratio |',
    '|---|---:|---:|---:|',
    `| process start → run() | ${overhead.startToRunMs.runner} ms | ${overhead.startToRunMs.bare} ms | ${overhead.startToRunMs.ratio}× |`,
    `| run() returned → exit | ${overhead.returnToExitMs.runner} ms | ${overhead.returnToExitMs.bare} ms | ${overhead.returnToExitMs.ratio}× |`,
    `| whole process | ${overhead.totalMs.runner} ms | ${overhead.totalMs.bare} ms | ${overhead.totalMs.ratio}× |`,
    `| peak RSS | ${overhead.peakRssMb.runner} MB | ${overhead.peakRssMb.bare} MB | ${overhead.peakRssMb.ratio}× |`,
    '',
    '**6. Job image** (`npm pack` of core and runner, `npm install --omit=dev` of the two tarballs into an empty directory)',
    '',
    '| installed size (file bytes) | on disk (4 KB blocks) | packages | target | runner dependencies | @google-cloud/pubsub installed |',
    '|---:|---:|---:|---:|---|:---:|',
    `| ${image.installedMb} MB | ${image.diskMb} MB | ${image.packages} | ≤ ${IMAGE_TARGET_MB} MB | ${image.runnerDependencies.join(', ')} | ${image.pubsubInstalled ? '**yes**' : 'no'} |`,
    '',
  ];
}
