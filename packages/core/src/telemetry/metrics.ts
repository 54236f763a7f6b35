import {
  type Attributes,
  type Counter,
  createNoopMeter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
} from '@opentelemetry/api';

import { REGION_ENV_NAMES, type RegionEnv } from '../clients/region.js';

/**
 * The OpenTelemetry metrics E11 Jobs records, through `@opentelemetry/api` only: without a registered
 * `MeterProvider` (the OpenTelemetry Node SDK, or `metrics.setGlobalMeterProvider`) every record is a
 * no-op. Instruments are created on first use from the global provider of that moment, so a provider
 * registered after this module was loaded is used.
 */
export const MetricName = {
  /** Counter: a task claimed its job and starts running it. */
  jobsStarted: 'e11.jobs.started',
  /** Counter: a job reached a terminal status (attribute `e11.status`). */
  jobsEnded: 'e11.jobs.ended',
  /** Histogram (s): an attempt's `finishedAt − startedAt`, attribute `e11.status` = its outcome. */
  attemptDuration: 'e11.attempt.duration',
  /** Histogram (s): from the launch decision (kick-off, admission, sweep) to the execution existing. */
  launchLatency: 'e11.launch.latency',
  /** Histogram (s): from a job waiting to be launched (registered, or made Pending) to its launch. */
  queueWait: 'e11.queue.wait',
  /** Histogram (s): from the orchestration's last job end to its JobCompletedEvent being published. */
  eventLatency: 'e11.event.latency',
} as const;

/** The attribute names the metrics carry. */
export const MetricAttribute = {
  jobName: 'e11.job.name',
  status: 'e11.status',
  /** On `e11.jobs.ended` with status Errored: the job used up its attempts on retryable failures. */
  deadLettered: 'e11.dead_lettered',
  region: 'cloud.region',
} as const;

/** The meter scope: the package that records (its npm name). */
export type MeterScope = '@e11/core' | '@e11/runner' | '@e11/sdk' | '@e11/functions';

/**
 * Histogram bucket boundaries in seconds, from 10 ms (a launch request) to a day (a long job or a long
 * wait for a slot): roughly 1-2.5-5 steps, so the percentiles stay meaningful at every scale.
 */
export const DURATION_BUCKETS_S: readonly number[] = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400, 28_800,
  86_400,
];

/** What every point says of where it comes from. */
export interface JobPoint {
  /** `e11.job.name`. */
  jobName: string;
  /** `cloud.region`, when known. */
  region?: string | undefined;
}

/** How a job ended, as `e11.jobs.ended` counts it. */
export type EndedStatus = 'Completed' | 'Errored' | 'Cancelled';

/** How an attempt ended (its record's `outcome`). */
export type AttemptStatus = 'Completed' | 'Errored' | 'TimedOut' | 'Interrupted' | 'Crashed' | 'Cancelled';

interface Instruments {
  /** False for the API's no-op meter (no provider registered). */
  live: boolean;
  started: Counter;
  ended: Counter;
  attemptDuration: Histogram;
  launchLatency: Histogram;
  queueWait: Histogram;
  eventLatency: Histogram;
}

/** Per global provider (tests and hosts may replace it), the instruments of each scope. */
const created = new WeakMap<MeterProvider, Map<MeterScope, Instruments>>();

function seconds(meter: Meter, name: string, description: string): Histogram {
  return meter.createHistogram(name, {
    description,
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_S] },
  });
}

function instruments(scope: MeterScope): Instruments {
  const provider = metrics.getMeterProvider();
  let byScope = created.get(provider);
  if (!byScope) {
    byScope = new Map();
    created.set(provider, byScope);
  }
  let found = byScope.get(scope);
  if (!found) {
    const meter = provider.getMeter(scope);
    found = {
      live: meter !== createNoopMeter(),
      started: meter.createCounter(MetricName.jobsStarted, {
        description: 'Jobs a task claimed and started running.',
        unit: '{job}',
      }),
      ended: meter.createCounter(MetricName.jobsEnded, {
        description: 'Jobs that reached a terminal status (Completed, Errored, Cancelled).',
        unit: '{job}',
      }),
      attemptDuration: seconds(meter, MetricName.attemptDuration, 'Duration of one attempt of a job.'),
      launchLatency: seconds(
        meter,
        MetricName.launchLatency,
        'From the decision to launch (kick-off, admission, sweep) to the Cloud Run execution existing.',
      ),
      queueWait: seconds(
        meter,
        MetricName.queueWait,
        'From a job waiting to be launched (registered, or made Pending again) to its launch.',
      ),
      eventLatency: seconds(
        meter,
        MetricName.eventLatency,
        "From an orchestration's last job end to its JobCompletedEvent being published.",
      ),
    };
    byScope.set(scope, found);
  }
  return found;
}

function attributes(point: JobPoint, extra: Attributes = {}): Attributes {
  return {
    [MetricAttribute.jobName]: point.jobName,
    ...(point.region ? { [MetricAttribute.region]: point.region } : {}),
    ...extra,
  };
}

/** Milliseconds as seconds, never negative (two machines' clocks may disagree by a little). */
function toSeconds(ms: number): number {
  return Math.max(0, ms) / 1000;
}

/**
 * Whether the global MeterProvider records anything: false while none is registered (the API's no-op
 * provider). Work done only to compute a metric (a read) is skipped then.
 */
export function metricsRecorded(scope: MeterScope): boolean {
  return instruments(scope).live;
}

/** Counts a job a task claimed and starts running (`e11.jobs.started`). */
export function recordJobStarted(scope: MeterScope, point: JobPoint): void {
  instruments(scope).started.add(1, attributes(point));
}

/** Counts jobs that reached a terminal status (`e11.jobs.ended`). */
export function recordJobsEnded(
  scope: MeterScope,
  point: JobPoint & { status: EndedStatus; deadLettered?: boolean; count?: number },
): void {
  const count = point.count ?? 1;
  if (count <= 0) return;
  const extra: Attributes = { [MetricAttribute.status]: point.status };
  if (point.status === 'Errored') extra[MetricAttribute.deadLettered] = point.deadLettered ?? false;
  instruments(scope).ended.add(count, attributes(point, extra));
}

/** Records one attempt's duration (`e11.attempt.duration`): its record's finishedAt − startedAt. */
export function recordAttemptDuration(
  scope: MeterScope,
  point: JobPoint & { status: AttemptStatus; durationMs: number },
): void {
  instruments(scope).attemptDuration.record(
    toSeconds(point.durationMs),
    attributes(point, { [MetricAttribute.status]: point.status }),
  );
}

/** Records how long one execution took to exist once its launch was decided (`e11.launch.latency`). */
export function recordLaunchLatency(scope: MeterScope, point: JobPoint & { latencyMs: number }): void {
  instruments(scope).launchLatency.record(toSeconds(point.latencyMs), attributes(point));
}

/** Records how long one launched job waited for its launch (`e11.queue.wait`). */
export function recordQueueWait(scope: MeterScope, point: JobPoint & { waitMs: number }): void {
  instruments(scope).queueWait.record(toSeconds(point.waitMs), attributes(point));
}

/** Records how long an orchestration's event took after its last job ended (`e11.event.latency`). */
export function recordEventLatency(scope: MeterScope, point: JobPoint & { latencyMs: number }): void {
  instruments(scope).eventLatency.record(toSeconds(point.latencyMs), attributes(point));
}

/** The region named by the environment (E11_REGION, CLOUD_RUN_REGION, ...), without reading any file. */
export function regionFromEnv(env: RegionEnv): string | undefined {
  for (const name of REGION_ENV_NAMES) {
    const value = env[name];
    if (value) return value;
  }
  return undefined;
}
