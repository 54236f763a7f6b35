// `node --import @e11/emulators/telemetry/preload`: registers the local trace collector when
// E11_TRACE_DIR is set (the local stack sets it, with this preload, for its tasks and functions).
import { registerTraceCollector, TRACE_DIR_ENV } from './trace-collector.js';

const dir = process.env[TRACE_DIR_ENV];
if (dir) registerTraceCollector({ dir });
