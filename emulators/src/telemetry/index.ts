// @e11/emulators/telemetry — trace collection for the local stack (see trace-collector.ts).
export {
  type CollectedSpan,
  JsonLinesSpanExporter,
  registerTraceCollector,
  TRACE_DIR_ENV,
  TRACE_SERVICE_ENV,
  type TraceCollector,
  traceCollectorEnv,
  type TraceCollectorOptions,
} from './trace-collector.js';
export { formatTraceTree, readTraces, type TraceTreeOptions } from './trace-tree.js';
