import { isDeepStrictEqual } from 'node:util';
import {
  createStore,
  isTerminal,
  orchestrationDocSchema,
  parseDocument,
  type OrchestrationDoc,
  pipelineDocSchema,
} from '@e11/core';

import type { ChaosParams, ChaosResult } from '../fixtures/src/chaos-jobs.js';
import { FAN_IN_PARAMS } from '../fixtures/src/chaos-pipelines.js';

import type { ChaosStack } from './chaos-stack.js';
import { functionsKilledAt } from './faults/restart-functions.js';
import { CHAOS_KEY, CHAOS_KEY_LIMIT, type Expected } from './workload.js';

/** What the invariants found; a run passes when `violations` is empty. */
export interface InvariantReport {
  orchestrations: number;
  /** Pipelines started (each ended with one PipelineCompletedEvent, each stage started once). */
  pipelines: number;
  jobs: number;
  /** Messages on the topic (before any de-duplication). */
  events: number;
  /** Orchestration ends with no message, and orchestrations that never ended. */
  lost: number;
  /** Messages beyond the first of an end, and messages of no end. */
  duplicates: number;
  /**
   * Second messages of an end whose first publisher was SIGKILLed between its publish and its record
   * (the functions server killed within seconds after the first message, and the recorded message is
   * the second one): the exception the README states, counted apart, not a violation.
   */
  republished: number;
  /** Pairs of attempts of one job that both ran to the end of their work and overlapped in time. */
  overlaps: number;
  /**
   * `maxParallel` orchestrations (and the chaos concurrency key) that had more finished attempts
   * running at once than their limit (attempts killed before the end of their work are not counted: a
   * lower bound).
   */
  parallelExceeded: number;
  /** Orchestrations with `maxParallel` or the chaos concurrency key. */
  limited: number;
  /** Kick-offs whose backend died before registering every job (removed by the sweeper). */
  abandoned: number;
  /** One line per broken invariant. */
  violations: string[];
}

interface LedgerEntry {
  orchestrationId?: string;
  jobId: string;
  attempt: number;
  pid: number;
  startedAt: number;
  endedAt: number | null;
}

/** Pairs of finished attempts of one job whose [start, end] intervals overlap. */
export function overlappingAttempts(entries: readonly LedgerEntry[]): [LedgerEntry, LedgerEntry][] {
  const byJob = new Map<string, LedgerEntry[]>();
  for (const entry of entries) {
    if (entry.endedAt === null) continue;
    byJob.set(entry.jobId, [...(byJob.get(entry.jobId) ?? []), entry]);
  }
  const pairs: [LedgerEntry, LedgerEntry][] = [];
  for (const list of byJob.values()) {
    const sorted = [...list].sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        const [a, b] = [sorted[i] as LedgerEntry, sorted[j] as LedgerEntry];
        if (b.startedAt < (a.endedAt ?? 0)) pairs.push([a, b]);
      }
    }
  }
  return pairs;
}

/** Most finished attempts whose [start, end] intervals overlap at one time (killed ones left out). */
export function mostFinishedAtOnce(entries: readonly LedgerEntry[]): number {
  const edges = entries
    .filter((entry) => entry.endedAt !== null)
    .flatMap((entry) => [
      { at: entry.startedAt, step: 1 },
      { at: entry.endedAt ?? 0, step: -1 },
    ])
    // An end before a start at the same millisecond: a slot handed over, not shared.
    .sort((a, b) => a.at - b.at || a.step - b.step);
  let running = 0;
  let most = 0;
  for (const edge of edges) {
    running += edge.step;
    most = Math.max(most, running);
  }
  return most;
}

/**
 * The params the harness asked for, for an orchestration (by id, or by its backend's tag; a pipeline
 * stage's by its pipeline: the fan-out's from the pipeline's input, the fan-in's one job).
 */
function expectedParams(expected: Expected, orchestration: OrchestrationDoc): ChaosParams[] | undefined {
  if (orchestration.pipeline !== null) {
    const input = expected.pipelines.get(orchestration.pipeline.pipelineId);
    return input === undefined ? undefined : orchestration.pipeline.stage === 0 ? input : [FAN_IN_PARAMS];
  }
  const tag = orchestration.tags.chaosKickoff;
  return expected.byId.get(orchestration.id) ?? (tag === undefined ? undefined : expected.byTag.get(tag));
}

/** How long after a publish a kill of the functions server can still have cut it off from its record. */
const PUBLISH_RECORD_WINDOW_MS = 10_000;

/**
 * Whether the functions server was killed within {@link PUBLISH_RECORD_WINDOW_MS} after an end's
 * first message was published: its publisher may have died before recording it. Pure.
 */
export function killedAfterPublish(publishedAtMs: number, killedAtMs: readonly number[]): boolean {
  return killedAtMs.some((at) => at >= publishedAtMs && at - publishedAtMs <= PUBLISH_RECORD_WINDOW_MS);
}

/**
 * Checks the invariants from the emulators' own state once the run has settled: every job terminal;
 * exactly one message per orchestration end (`{orchestrationId}:{epoch}`, each completion marker an end);
 * no two finished attempts of a job overlapping (ledger); successes and failures complete, with their
 * params; no quota rejection turned into a failure.
 */
export async function checkInvariants(chaos: ChaosStack, expected: Expected): Promise<InvariantReport> {
  const store = createStore({ firestore: chaos.firestore });
  const report: InvariantReport = {
    orchestrations: 0,
    pipelines: 0,
    jobs: 0,
    events: chaos.messages.length,
    lost: 0,
    duplicates: 0,
    republished: 0,
    overlaps: 0,
    parallelExceeded: 0,
    limited: 0,
    abandoned: 0,
    violations: [],
  };
  const violation = (line: string) => report.violations.push(line);

  const messagesPerEnd = new Map<string, number>();
  const pipelineMessages = new Map<string, { id: string; at: number }[]>();
  /** Each end's first message (by publish time): its id and when Pub/Sub took it. */
  const firstMessage = new Map<string, { id: string; at: number }>();
  for (const message of chaos.messages) {
    const { eventId, type } = JSON.parse(message.data.toString('utf8')) as { eventId: string; type: string };
    // A pipeline end's event id is `{pipelineId}:{epoch}`: kept apart from orchestration ends.
    if (type === 'PipelineCompletedEvent') {
      const ids = pipelineMessages.get(eventId) ?? [];
      pipelineMessages.set(eventId, [...ids, { id: message.id, at: message.publishTime.getTime() }]);
      continue;
    }
    messagesPerEnd.set(eventId, (messagesPerEnd.get(eventId) ?? 0) + 1);
    const at = message.publishTime.getTime();
    const first = firstMessage.get(eventId);
    if (!first || at < first.at) firstMessage.set(eventId, { id: message.id, at });
  }
  const ends = new Set<string>();
  const seen = new Set<string>();
  const limits = new Map<string, number>();
  const keyed = new Set<string>();

  const snapshots = await store.collections.orchestrations().get();
  for (const snapshot of snapshots.docs) {
    const orchestration = parseDocument(orchestrationDocSchema, snapshot);
    const id = orchestration.id;
    if (!orchestration.registered) {
      violation(`orchestration ${id}: half-registered and never removed`);
      continue;
    }
    report.orchestrations++;
    report.jobs += orchestration.total;
    if (orchestration.maxParallel !== null) limits.set(id, orchestration.maxParallel);
    if (orchestration.concurrencyKey !== null) keyed.add(id);
    const params = expectedParams(expected, orchestration);
    seen.add(orchestration.tags.chaosKickoff ?? id);
    if (!params) violation(`orchestration ${id}: not kicked off by this run`);

    const jobs = await chaos.service.listJobs(id);
    const open = jobs.filter((job) => !isTerminal(job.status));
    if (open.length > 0 || !isTerminal(orchestration.status)) {
      report.lost++;
      const age = (at: Date | null) =>
        at ? `${Math.round((Date.now() - at.getTime()) / 1_000)} s ago` : 'never';
      violation(
        `orchestration ${id} (${orchestration.mode}): ${orchestration.status}, ${open.length} job(s) not terminal: ` +
          open
            .map(
              (job) =>
                `${job.id} ${job.status} attempt ${job.attempt}, execution ${job.executionName ?? 'none'}, ` +
                `heartbeat ${age(job.heartbeatAt)}, updated ${age(job.updatedAt)}`,
            )
            .join('; '),
      );
      continue;
    }
    const markers = await store.collections.completions(id).get();
    for (const marker of markers.docs) {
      const eventId = `${id}:${marker.id}`;
      ends.add(eventId);
      const count = messagesPerEnd.get(eventId) ?? 0;
      if (count === 0) {
        report.lost++;
        violation(`end ${eventId}: no message (marker published: ${String(marker.get('published'))})`);
      } else if (
        count === 2 &&
        // The first message's publisher never recorded it (the record is the second message's), and
        // the functions server was killed right after that first publish.
        marker.get('published') === true &&
        marker.get('messageId') !== firstMessage.get(eventId)?.id &&
        killedAfterPublish(firstMessage.get(eventId)?.at ?? 0, functionsKilledAt)
      ) {
        report.republished++;
      } else if (count > 1) {
        report.duplicates += count - 1;
        const first = firstMessage.get(eventId);
        violation(
          `end ${eventId}: ${count} messages (first published at ${first?.at ?? '?'}, recorded ` +
            `${marker.get('messageId') === first?.id ? 'the first' : 'another'}, publishAttempts ` +
            `${String(marker.get('publishAttempts'))}; functions killed at ${functionsKilledAt.join(', ') || 'never'})`,
        );
      }
    }
    if (markers.empty) {
      report.lost++;
      violation(`orchestration ${id}: ended ${orchestration.status} without a completion marker`);
    }

    const [successes, failures] = await chaos.service.getJobResults<ChaosResult, ChaosParams>(id, {
      timeoutMs: 5_000,
    });
    if (successes.length + (failures?.length ?? 0) !== orchestration.total) {
      violation(
        `orchestration ${id}: ${successes.length} successes + ${failures?.length ?? 0} failures ≠ ${orchestration.total}`,
      );
    }
    for (const success of successes) {
      const want = params?.[success.index];
      if (!isDeepStrictEqual(success.params, want))
        violation(
          `job ${success.jobId}: success with params ${JSON.stringify(success.params)}, kicked off ${JSON.stringify(want)}`,
        );
      if (success.params.fail) violation(`job ${success.jobId}: succeeded although it fails by design`);
      if (success.result.index !== success.params.index)
        violation(`job ${success.jobId}: result of job ${success.result.index}`);
    }
    const launchFailures: string[] = [];
    for (const failure of failures ?? []) {
      const want = params?.[failure.index];
      if (!isDeepStrictEqual(failure.params, want))
        violation(
          `job ${failure.jobId}: failure with params ${JSON.stringify(failure.params)}, kicked off ${JSON.stringify(want)}`,
        );
      if (failure.error.code === 'E11_LAUNCH_FAILED') launchFailures.push(failure.error.message);
    }
    if (launchFailures.length > 0) {
      violation(
        `orchestration ${id} (${orchestration.mode}): ${launchFailures.length} job(s) Errored E11_LAUNCH_FAILED ` +
          `after a Cloud Run rejection (a quota or outage window must mean "later"): ${[...new Set(launchFailures)].join(' / ')}`,
      );
    }
  }
  for (const id of expected.byId.keys()) {
    if (!seen.has(id)) violation(`orchestration ${id}: kicked off, then gone`);
  }
  report.abandoned = [...expected.byTag.keys()].filter((tag) => !seen.has(tag)).length;
  for (const [eventId, count] of messagesPerEnd) {
    if (ends.has(eventId)) continue;
    report.duplicates += count;
    violation(`message ${eventId}: no such orchestration end`);
  }

  report.pipelines = expected.pipelines.size;
  await checkPipelines(chaos, expected, pipelineMessages, report);

  const ledger = await chaos.firestore.collection(chaos.ledgerCollection).get();
  const entries = ledger.docs.map((doc) => doc.data() as LedgerEntry);
  report.limited = new Set([...limits.keys(), ...keyed]).size;
  const onKey = mostFinishedAtOnce(entries.filter((entry) => keyed.has(entry.orchestrationId ?? '')));
  if (onKey > CHAOS_KEY_LIMIT) {
    report.parallelExceeded++;
    violation(`concurrency key ${CHAOS_KEY}: ${onKey} attempts ran at once, limit ${CHAOS_KEY_LIMIT}`);
  }
  for (const [id, limit] of limits) {
    const most = mostFinishedAtOnce(entries.filter((entry) => entry.orchestrationId === id));
    if (most <= limit) continue;
    report.parallelExceeded++;
    violation(`orchestration ${id}: ${most} attempts ran at once, maxParallel ${limit}`);
  }
  const pairs = overlappingAttempts(entries);
  report.overlaps = pairs.length;
  for (const [a, b] of pairs) {
    violation(
      `job ${a.jobId}: attempt ${a.attempt} (pid ${a.pid}) and attempt ${b.attempt} (pid ${b.pid}) both ran to the end, overlapping ${(a.endedAt ?? 0) - b.startedAt} ms`,
    );
  }
  return report;
}

/**
 * Every pipeline the run started ended with exactly one PipelineCompletedEvent (the same exception as
 * orchestrations: a publisher killed between its publish and its record), both stages ran (the fan-out
 * continues past its failures by design), each as one orchestration, and the event's stages say how
 * their orchestrations ended.
 */
async function checkPipelines(
  chaos: ChaosStack,
  expected: Expected,
  messages: Map<string, { id: string; at: number }[]>,
  report: InvariantReport,
): Promise<void> {
  const violation = (line: string) => report.violations.push(line);
  const store = createStore({ firestore: chaos.firestore });
  const stages = new Map<string, OrchestrationDoc[]>();
  for (const snapshot of (await store.collections.orchestrations().get()).docs) {
    const orchestration = parseDocument(orchestrationDocSchema, snapshot);
    if (orchestration.pipeline === null) continue;
    const key = `${orchestration.pipeline.pipelineId}:${orchestration.pipeline.stage}`;
    stages.set(key, [...(stages.get(key) ?? []), orchestration]);
  }
  const ended = new Set<string>();
  for (const pipelineId of expected.pipelines.keys()) {
    const snapshot = await chaos.firestore.collection('e11_pipelines').doc(pipelineId).get();
    if (!snapshot.exists) {
      report.lost++;
      violation(`pipeline ${pipelineId}: started, then gone`);
      continue;
    }
    const pipeline = parseDocument(pipelineDocSchema, snapshot);
    const event = pipeline.event;
    if (pipeline.status === 'InProgress' || event === null) {
      report.lost++;
      violation(
        `pipeline ${pipelineId}: never ended (stage ${pipeline.current}, ${pipeline.stages[pipeline.current]?.status ?? '?'})`,
      );
      continue;
    }
    ended.add(event.eventId);
    const received = [...(messages.get(event.eventId) ?? [])].sort((a, b) => a.at - b.at);
    const first = received[0];
    if (!first) {
      report.lost++;
      violation(`pipeline end ${event.eventId}: no message (published: ${String(event.published)})`);
    } else if (
      received.length === 2 &&
      event.published &&
      event.messageId !== first.id &&
      killedAfterPublish(first.at, functionsKilledAt)
    ) {
      report.republished++;
    } else if (received.length > 1) {
      report.duplicates += received.length - 1;
      violation(
        `pipeline end ${event.eventId}: ${received.length} messages (recorded ${event.messageId === first.id ? 'the first' : 'another'}; functions killed at ${functionsKilledAt.join(', ') || 'never'})`,
      );
    }
    for (const [index, stage] of pipeline.stages.entries()) {
      const runs = stages.get(`${pipelineId}:${index}`) ?? [];
      if (runs.length !== 1) {
        violation(`pipeline ${pipelineId}: stage ${stage.name} ran as ${runs.length} orchestration(s)`);
        continue;
      }
      const [orchestration] = runs as [OrchestrationDoc];
      const status =
        orchestration.status === 'Completed' || orchestration.status === 'Cancelled'
          ? orchestration.status
          : 'Errored';
      if (stage.status !== status) {
        violation(
          `pipeline ${pipelineId}: stage ${stage.name} recorded ${stage.status}, its orchestration ended ${orchestration.status}`,
        );
      }
    }
  }
  for (const [eventId, received] of messages) {
    if (ended.has(eventId)) continue;
    report.duplicates += received.length;
    violation(`message ${eventId}: no such pipeline end`);
  }
}
