/**
 * Every default of the SDK, runner and functions in one place, each with its reason.
 * Options documents refer here with `@default`.
 */
export const DEFAULTS = {
  /** Collections are `${prefix}orchestrations`, `${prefix}schedules`, …; a prefix keeps E11 apart from app data. */
  collectionPrefix: 'e11_',
  /**
   * The Firestore database of the clients the SDK, runner and functions create (E11_FIRESTORE_DATABASE
   * overrides it). `(default)` works without setup; production deploys E11 to its own named database
   * (deploy.sh --database) so that IAM can grant each account that database alone.
   */
  firestoreDatabase: '(default)',
  /** Topic that receives JobCompletedEvents unless an orchestration names another. */
  topic: 'e11-job-completed',
  /** Tasks started at once by kickOffJob. Cloud Run accepts far more; this bounds memory and sockets. */
  launchConcurrency: 10,
  /**
   * Launch requests per minute. Cloud Run's "job run requests per minute per region" quota is about
   * 60-180; 120 stays inside the common quota while still starting 2 tasks a second. Raise it for the
   * local emulator or with a raised quota; array mode needs one request per 10,000 jobs.
   */
  launchRatePerMinute: 120,
  /**
   * Attempts per launch request for transient errors other than quota and unavailability (INTERNAL,
   * UNKNOWN, DEADLINE_EXCEEDED, ABORTED); a job whose launch keeps meeting them stays Pending for the
   * sweeper. Quota (429) and 503 answers are retried for launchRetryBudgetMs instead.
   */
  launchMaxAttempts: 6,
  /**
   * How long one launch request keeps retrying 429 (RESOURCE_EXHAUSTED) and 503 (UNAVAILABLE) answers,
   * the backoff growing to launchMaxBackoffMs. Cloud Run's run-job quota is per minute, so a window lasts
   * minutes; 10 minutes rides out several while ending before the sweeper's pendingTimeoutMs (15 min),
   * after which a job still unlaunched is the sweeper's to launch. It is "launch later", never "failed".
   */
  launchRetryBudgetMs: 10 * 60_000,
  /**
   * The retry budget of a sweep's relaunches: a sweep runs every minute (Cloud Scheduler) and must not
   * sit out a quota window; what it could not launch stays Pending and the next pass tries again.
   */
  sweepLaunchRetryBudgetMs: 30_000,
  /** First backoff between launch attempts; doubles each time, with full jitter. */
  launchInitialBackoffMs: 500,
  /** Upper bound of one launch backoff. */
  launchMaxBackoffMs: 30_000,
  /**
   * Ceiling on parameter sets per kickOffJob; protects against an accidental huge fan-out. 100,000:
   * ten array-mode executions of Cloud Run's 10,000 tasks each; the bookkeeping per job stays flat at
   * that size (`E11_BENCH_100K=1 npm run bench`), and the params (1,000 chunks of 100) and 128 counter
   * shards register in seconds.
   */
  maxJobsPerOrchestration: 100_000,
  /** Cloud Run's limit of tasks per execution; array mode splits above it. */
  maxTasksPerExecution: 10_000,
  /** Firestore writes per batch (the API's limit is 500). */
  batchSize: 500,
  /** Batches in flight at once during registration (measured on the emulator: 16 beats 8 by ~10%, more adds little). */
  batchConcurrency: 16,
  /**
   * Estimated request bytes per registration batch: below the Firestore emulator's 4 MiB gRPC message
   * limit (a bigger commit never returns there) and the API's 10 MiB request limit. Jobs with large
   * params go in smaller batches.
   */
  batchMaxBytes: 3 * 1024 * 1024,
  /**
   * A parameter set may use at most this many bytes of its job document: 1 MiB − 192 KiB = 851,968.
   * Firestore refuses a document over 1 MiB (1,048,576 bytes, counted as: each string its UTF-8 bytes
   * + 1, each field name its bytes + 1, numbers and timestamps 8, plus the document name and 32), so
   * everything else a job document can hold, at its largest, must fit in the other 192 KiB (196,608):
   * result 65,543 (maxResultBytes + its name) + checkpoint 65,547 + error ≤ 18,432 (message 4,096,
   * stack 8,192, code and name 256 each, jobName and the two ids ≤ 1,500 each, the rest ~100) + progress
   * ≤ 1,100 (message 1,024) + attempt history ≤ 32,768 (maxAttemptRecords 21 × ≤ 1,430: error 512 + 256,
   * execution name ≤ 512, numbers, timestamps and names ~150) + everything else ≤ 8,192 (claim,
   * execution name, status, counts, a dozen timestamps, and a document name of two ids ≤ 1,500 each)
   * = 191,582, which leaves ~5 KiB for fields added later. The params are stored as their JSON text
   * (its bytes + 1 + the field name 7), the size validateParamsList checks.
   */
  maxParamsBytes: 1_048_576 - 196_608,
  /**
   * Parameter sets per params chunk document at kick-off (a job's own document is written when its task
   * claims it): fewer documents to register, and a task reads one chunk of this many sets at most.
   */
  paramsChunkMaxJobs: 100,
  /** Bytes of params per chunk document at most; a chunk holds fewer sets when they are large (at least one). */
  paramsChunkMaxBytes: 256 * 1024,
  /** Largest JSON result or checkpoint stored on a job document. */
  maxResultBytes: 65_536,
  /** A stored error message is cut to this many UTF-8 bytes (budgeted in maxParamsBytes). */
  maxErrorMessageBytes: 4_096,
  /** A stored error stack is cut to this many bytes: the top frames tell where; the rest is in the task's log. */
  maxErrorStackBytes: 8_192,
  /** A stored error code or error name is cut to this many bytes (codes are short identifiers). */
  maxErrorCodeBytes: 256,
  /** A stored progress message is cut to this many bytes: it is a status line, not a log. */
  maxProgressMessageBytes: 1_024,
  /**
   * Attempt records kept on a job document: the first and the latest 20. Retries across epochs
   * (retryFailed) would otherwise grow the history until the document passes 1 MiB and every write to
   * the job fails; dropped records are counted in `attemptsDropped`.
   */
  maxAttemptRecords: 21,
  /** The error message of one attempt record is cut to this many bytes (the job's `error` keeps the last in full). */
  maxAttemptErrorBytes: 512,
  /** Attempts per job (first run plus retries) before it is dead-lettered. */
  maxAttempts: 3,
  /** First retry delay inside a task. */
  retryInitialBackoffMs: 1_000,
  /** Upper bound of a retry delay. */
  retryMaxBackoffMs: 60_000,
  /** Growth of the retry delay per attempt. */
  retryMultiplier: 2,
  /** How often a running task writes its heartbeat. */
  heartbeatIntervalMs: 10_000,
  /** A task whose heartbeat is older than this is treated as crashed (6 missed heartbeats). */
  heartbeatTimeoutMs: 60_000,
  /** A job still Pending this long after kick-off was never started (launch lost); the sweeper relaunches it. */
  pendingTimeoutMs: 15 * 60_000,
  /**
   * How often a kick-off that is still launching says so on the orchestration; when it stays silent for
   * pendingTimeoutMs (the backend died mid-launch), the sweeper launches the jobs still waiting.
   */
  launchHeartbeatMs: 60_000,
  /**
   * How long `getJobResults` waits on its counter listener without a snapshot before it reads the
   * counts itself: the listener is the signal, the read catches a change it did not deliver (seen on
   * the Firestore emulator under load: the last shard change of an orchestration never arrived). One
   * aggregation read per quiet spell.
   */
  resultsRecheckMs: 5_000,
  /** How long a kick-off with a used idempotency key waits for the first call's registration to finish. */
  duplicateRegistrationWaitMs: 60_000,
  /** The sweeper relaunches a job released by an interrupted task, or requeued after a crash, after this grace. */
  requeueGraceMs: 30_000,
  /**
   * The sweeper ends an orchestration whose trigger was lost only after no job was written for this
   * long; the trigger's function ends a normal one within seconds.
   */
  completionGraceMs: 30_000,
  /** Minimum gap between two progress writes of one job (Firestore sustains ~1 write/s per document). */
  progressIntervalMs: 1_000,
  /**
   * Cloud Run gives a stopped container 10 s between SIGTERM and SIGKILL; the runner records the
   * interruption well inside that.
   */
  terminationGraceMs: 8_000,
  /**
   * The publish lease: a publisher holds a completion marker this long before another (a trigger
   * redelivery, the sweeper) may publish its event. Twice publishTimeoutMs, so a publish that may still
   * succeed always ends inside its lease.
   */
  publishRetryAfterMs: 60_000,
  /**
   * Upper bound of one event publish, the Pub/Sub client's retries included (its own default retries
   * for 10 minutes): kept well under the lease, so no second publisher starts while the first may
   * still succeed.
   */
  publishTimeoutMs: 30_000,
  /**
   * After a failed publish the sweeper waits this long (about one production sweep interval) before
   * trying that event again, doubled per failure up to publishMaxBackoffMs: events that cannot be
   * published (a deleted topic) stop taking a share of every sweep. A trigger redelivery retries at once.
   */
  publishInitialBackoffMs: 30_000,
  /** Upper bound of the sweeper's backoff between publish attempts of one event. */
  publishMaxBackoffMs: 30 * 60_000,
  /** Upper bound of kickOffJob's one-time check that its topic exists (one call per topic per service). */
  topicCheckTimeoutMs: 10_000,
  /**
   * Executions whose state the local process launcher keeps for `describe` (the sweeper's view of a
   * lost launch); a long-lived process launches without end. Cloud Run keeps 1,000 per job.
   */
  localLauncherKeptExecutions: 10_000,
  /**
   * Active orchestrations one sweep examines at most, so a pass fits the sweep function's timeout; the
   * next pass continues where it stopped.
   */
  sweepMaxActive: 5_000,
  /** Active orchestrations the sweeper reads per query. */
  sweepPageSize: 500,
  /** Pending events the sweeper tries to publish per pass at most (read in pages of its pageSize). */
  republishMaxPerSweep: 500,
  /** How often the local stack runs the sweeper. */
  sweepIntervalMs: 15_000,
  /** Counter shards per orchestration: one per this many jobs, between 1 and maxShards. */
  jobsPerShard: 100,
  /** Upper bound of counter shards (each sustains ~1 write/s). */
  maxShards: 128,
  /** Keep-alive comment interval of SSE streams: proxies and load balancers drop connections idle for 30-60 s. */
  sseKeepAliveMs: 15_000,
  /** Reconnection delay an SSE stream suggests to EventSource (its `retry:` field). */
  sseRetryMs: 3_000,
  /**
   * A `Last-Event-ID` older than this gets a fresh snapshot instead of a replay of job changes: the
   * `status` event already carries every count, and replaying hours of changes costs more than it shows.
   */
  sseResumeWindowMs: 60 * 60_000,
  /** An SSE client this far behind (bytes buffered for it) is disconnected; it reconnects with Last-Event-ID and resumes. */
  sseMaxBufferedBytes: 1_048_576,
  /** Orchestrations per page of listOrchestrations. */
  historyPageSize: 20,
  /** Largest page of listOrchestrations (each item may cost one count aggregation when live counts are on). */
  historyMaxPageSize: 500,
  /** Window of getMetrics when no `since` is given: one day of orchestrations. */
  metricsWindowMs: 24 * 3_600_000,
  /** Orchestrations getMetrics reads at most (newest first); bounds its cost, the report says when it was reached. */
  metricsMaxOrchestrations: 500,
  /** Finished jobs per job name sampled for duration percentiles (one read each). */
  metricsDurationSamples: 1_000,
  /** Orchestrations deleted per retention call at most; run it again (or on a schedule) for more. */
  retentionMaxDeletes: 1_000,
  /** Port of `e11 dashboard`. */
  dashboardPort: 8787,
  /** The dashboard binds to loopback only: it can retry jobs and shows params. */
  dashboardHost: '127.0.0.1',
  // --- schedules ---
  /** Cloud Scheduler job ids are `${prefix}${scheduleName}`; the prefix keeps E11's jobs apart from others in the project. */
  scheduleJobIdPrefix: 'e11-',
  /**
   * A claimed schedule run that has not finished after this long belongs to a tick that died; a later tick
   * (a Cloud Scheduler retry, the next local tick) takes it over. Longer than a kick-off of a large
   * fan-out takes to register and launch, so a slow live tick is never second-guessed.
   */
  scheduleRunLeaseMs: 10 * 60_000,
  /**
   * A schedule stores its params in its own document (1 MiB at most, shared with the rest of the
   * definition); larger inputs belong in a paramsFactory.
   */
  maxScheduleParamsBytes: 786_432,
  /** Runs per page of `schedules.runs(name)`. */
  scheduleRunsPageSize: 20,
  /** How often the local stack's scheduler ticks: cron is minute-grained, so a fire starts within 10 s of its time. */
  localSchedulerIntervalMs: 10_000,
  /**
   * Cloud Scheduler retries a failed tick (HTTP 5xx) this many times; the idempotency key makes a retry
   * that follows a tick which did launch harmless.
   */
  schedulerRetryCount: 3,
  /**
   * How long Cloud Scheduler waits for the tick function (its maximum for HTTP targets is 30 min): a
   * tick awaits its kick-off's launches, which are paced by the launch rate limit.
   */
  schedulerAttemptDeadlineMs: 30 * 60_000,
  /**
   * How long a task waits for its OpenTelemetry exporters before it exits (flushTelemetry): an export
   * to Cloud Monitoring takes well under a second; a task stopped by SIGTERM has 10 s in all.
   */
  telemetryFlushTimeoutMs: 2_000,
  /**
   * Orchestrations of a job name a dry-run kick-off reads (newest first) to estimate task seconds per
   * job: enough to smooth one odd run, one small indexed query.
   */
  estimateHistory: 20,
  /**
   * Upper bound of reading a Cloud Run job's CPU and memory at kick-off (the client's retries included):
   * the kick-off waits for it, and a job that cannot be read is costed at Cloud Run's defaults.
   */
  jobLimitsReadTimeoutMs: 5_000,
} as const;
