/**
 * Every default of the SDK, runner and functions in one place, each with its reason.
 * Options documents refer here with `@default`.
 */
export const DEFAULTS = {
  /** Collections are `${prefix}orchestrations`, `${prefix}schedules`, …; a prefix keeps E11 apart from app data. */
  collectionPrefix: 'e11_',
  /** Cloud Run region used to build job resource names when none is given. */
  region: 'us-central1',
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
  /** Attempts per launch request for retryable errors (429, 503, UNAVAILABLE). */
  launchMaxAttempts: 6,
  /** First backoff between launch attempts; doubles each time, with full jitter. */
  launchInitialBackoffMs: 500,
  /** Upper bound of one launch backoff. */
  launchMaxBackoffMs: 30_000,
  /** Ceiling on parameter sets per kickOffJob; protects against an accidental huge fan-out. */
  maxJobsPerOrchestration: 10_000,
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
   * A parameter set may use at most this many bytes of its job document (Firestore's limit is 1 MiB per
   * document); the rest is kept for result, error, progress and checkpoint.
   */
  maxParamsBytes: 1_048_576 - 131_072,
  /**
   * Parameter sets per params chunk document at kick-off (a job's own document is written when its task
   * claims it): fewer documents to register, and a task reads one chunk of this many sets at most.
   */
  paramsChunkMaxJobs: 100,
  /** Bytes of params per chunk document at most; a chunk holds fewer sets when they are large (at least one). */
  paramsChunkMaxBytes: 256 * 1024,
  /** Largest JSON result or checkpoint stored on a job document. */
  maxResultBytes: 65_536,
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
} as const;
