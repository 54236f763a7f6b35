// The Functions Framework entry (package.json `main`): registers every function of @e11/functions by
// name, so `functions-framework --target=onJobWritten --source=<package dir>` (and Cloud Run functions'
// `--entry-point=onJobWritten`) finds it with its signature type. Importing this module has that side
// effect on purpose; import `@e11/functions` (index.ts) for the handlers alone.
import * as functions from '@google-cloud/functions-framework';

import { createSchedulerTickHandler } from './scheduler-tick.js';
import { createSweepHandler } from './sweep.js';
import { onJobWritten } from './index.js';

functions.cloudEvent('onJobWritten', onJobWritten);
functions.http('sweep', createSweepHandler());
functions.http('schedulerTick', createSchedulerTickHandler());

export { onJobWritten };
