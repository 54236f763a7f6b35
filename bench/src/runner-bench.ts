// `node bench/dist/runner-bench.js`: only the container side of `npm run bench` — runner overhead
// against bare Node (4) and the job image's installed size (6) — for working on the runner without
// the minutes the bookkeeping runs take. Prints its sections and targets; writes no results file.
import { createFirestore } from '@e11/core';
import { type Stack, startStack } from '@e11/emulators';

import { measureImageSize } from './image-size.js';
import { measureRunnerOverhead } from './runner-overhead.js';
import { renderRunnerSections, runnerTargets } from './runner-report.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
const runs = Number(process.env.E11_BENCH_RUNS ?? 10);
let stack: Stack;
try {
  stack = await startStack({
    projectId: 'demo-e11-bench',
    cloudRun: { jobs: { noop: { command: 'true' } } },
    sweepIntervalMs: 0,
  });
} catch (error) {
  log(
    `e11 bench: the local stack could not start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
const firestore = createFirestore({ projectId: stack.projectId, emulatorHost: stack.firestoreHost });
let exitCode = 0;
try {
  log('4/6 runner overhead vs a bare Node process…');
  const overhead = await measureRunnerOverhead(
    firestore,
    { projectId: stack.projectId, firestoreHost: stack.firestoreHost },
    runs,
  );
  log(`  ${JSON.stringify(overhead)}`);
  log('6/6 job image size…');
  const image = await measureImageSize();
  log(`  ${JSON.stringify(image)}`);
  const lines = [
    ...renderRunnerSections(overhead, image),
    '| target | measured | met |',
    '|---|---:|:---:|',
    ...runnerTargets(overhead, image).map(
      (t) => `| ${t.target} | ${t.value} | ${t.met ? 'yes' : '**no**'} |`,
    ),
    '',
  ];
  process.stdout.write(lines.join('\n'));
} catch (error) {
  log(`e11 bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  exitCode = 1;
} finally {
  await firestore.terminate();
  await stack.stop();
}
process.exit(exitCode);
