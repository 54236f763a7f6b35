// @e11/cli — the `e11` command line and the web dashboard, for an operator's shell. The executable is
// dist/main.js (bin `e11`); this entry lets a program run the same command line or serve the dashboard.
export { type CliIo, ExitCode } from './io.js';
export {
  defaultServiceFactory,
  type GlobalOptions,
  runCli,
  type ServiceFactory,
  type ServiceNeeds,
} from './program.js';
export {
  type DashboardFailure,
  type DashboardJob,
  type DashboardOrchestration,
  type OrchestrationLinks,
} from './dashboard/api-routes.js';
export {
  cloudLoggingUrl,
  DEFAULT_TRACE_URL_TEMPLATE,
  type LogsQuery,
  traceUrl,
} from './dashboard/console-links.js';
export { type DashboardJobPage, type DashboardJobSummary } from './dashboard/job-listings.js';
export {
  createDashboardServer,
  type DashboardOptions,
  type DashboardServer,
} from './dashboard/dashboard-server.js';
