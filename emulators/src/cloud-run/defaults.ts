/**
 * Every default and limit of the Cloud Run Jobs emulator, each with its reason. Limits mirror the
 * real Cloud Run Admin API v2 so that a request the emulator accepts is one production accepts too.
 */

import { CloudRunEnvName } from '@e11/core';

/** Loopback only: the emulator runs local commands on request and has no authentication. */
export const DEFAULT_HOST = '127.0.0.1';

/** 0 asks the OS for a free port, so parallel test files never collide. */
export const DEFAULT_PORT = 0;

/** Cloud Run waits 10 s between SIGTERM and SIGKILL when it stops a container. */
export const DEFAULT_KILL_GRACE_MS = 10_000;

/**
 * Task processes per CPU core (and at least this many in all): each is a whole Node process, so 32 at
 * once on 2 cores drove the load average above 50 and finished about 3 tasks a second.
 */
export const TASKS_PER_CORE = 4;

/** The length of Cloud Run's "job run requests per minute" quota window. */
export const DEFAULT_QUOTA_WINDOW_MS = 60_000;

/** Keep the tail of each task's stdout + stderr, enough for any test and a failed task's last words. */
export const DEFAULT_TASK_OUTPUT_LIMIT_BYTES = 256 * 1024;

/** stop() is a teardown, not a graceful drain: tasks get this long after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 2_000;

/** After a task's main process exits, wait at most this long for its output pipes to drain. */
export const OUTPUT_DRAIN_MS = 1_000;

/** Cloud Run's default task timeout (10 minutes). */
export const DEFAULT_TASK_TIMEOUT_MS = 600_000;

/** Cloud Run's maximum task timeout (7 days). */
export const MAX_TASK_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;

/** Cloud Run's default number of retries per task. */
export const DEFAULT_MAX_RETRIES = 3;

/** Cloud Run allows at most 10 retries per task. */
export const MAX_RETRIES_LIMIT = 10;

/** Cloud Run allows at most 10,000 tasks per execution. */
export const MAX_TASK_COUNT = 10_000;

/** Cloud Run keeps only the last 1,000 executions of a job; older finished ones disappear. */
export const MAX_EXECUTIONS_PER_JOB = 1_000;

/** Finished long-running operations kept for GetOperation/ListOperations before the oldest are dropped. */
export const MAX_OPERATIONS = 10_000;

/** List RPCs without a page size return this many items per page. */
export const DEFAULT_PAGE_SIZE = 100;

/** Largest page a List RPC returns, whatever the request asks for. */
export const MAX_PAGE_SIZE = 1_000;

/** WaitOperation without a timeout returns after this long, well inside the client's 60 s deadline. */
export const DEFAULT_WAIT_OPERATION_MS = 50_000;

/** Names Cloud Run sets in every task; a job or an override may not set them. */
export const RESERVED_ENV_NAMES: readonly string[] = Object.values(CloudRunEnvName);

/** Environment variable names Cloud Run accepts (a Kubernetes-style identifier). */
export const ENV_NAME_PATTERN = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Cloud Run limits an environment variable's name and value to 32,768 characters each. */
export const MAX_ENV_LENGTH = 32_768;

/** Job ids are RFC 1035 labels: lower case, digits and hyphens, at most 63 characters. */
export const JOB_ID_PATTERN = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
