#!/usr/bin/env node
// `e11-emulators`: runs the local stack in the foreground for your own experiments (the demo, the tests
// and the bench start it themselves). Prints the environment to point clients at it, and stops
// everything on Ctrl-C.
//
//   e11-emulators                       Firestore + Pub/Sub only
//   e11-emulators --cloud-run file.json the whole stack: + trigger bridge, functions, Cloud Run emulator
//   --config firebase.json              the firebase.json to use (default: the nearest one from the
//                                       current directory up, else the package's defaults)
//   --state-dir dir                     where logs and generated files go (default: .e11)
import { parseArgs } from 'node:util';

import { startGoogleEmulators } from './google-emulators.js';
import { startStack } from './stack.js';

const { values } = parseArgs({
  options: {
    'cloud-run': { type: 'string' },
    project: { type: 'string', default: 'demo-e11' },
    config: { type: 'string' },
    'state-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const say = (line: string) => process.stdout.write(`${line}\n`);
if (values.help) {
  say(
    'Usage: e11-emulators [--cloud-run <jobs config.json>] [--project demo-e11] [--config firebase.json] [--state-dir .e11]',
  );
  process.exit(0);
}

const paths = { firebaseConfig: values.config, stateDir: values['state-dir'] };
try {
  let stop: () => Promise<void>;
  let env: Record<string, string>;
  if (values['cloud-run']) {
    const stack = await startStack({
      ...paths,
      projectId: values.project,
      cloudRun: values['cloud-run'],
      onStatus: (line) => say(line),
    });
    stop = () => stack.stop();
    env = { ...stack.env };
  } else {
    const google = await startGoogleEmulators({
      ...paths,
      projectId: values.project,
      onLog: () => undefined,
    });
    stop = () => google.stop();
    env = {
      FIRESTORE_EMULATOR_HOST: google.firestoreHost,
      PUBSUB_EMULATOR_HOST: google.pubsubHost,
      GOOGLE_CLOUD_PROJECT: google.projectId,
    };
  }
  say('Ready. Point your processes at it with:');
  for (const [key, value] of Object.entries(env)) say(`  export ${key}=${value}`);
  say('Press Ctrl-C to stop.');
  const shutdown = () => {
    say('Stopping…');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(
          `e11-emulators: could not stop cleanly: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} catch (error) {
  process.stderr.write(`e11-emulators: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
