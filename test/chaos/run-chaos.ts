import { createStore, isTerminal, orchestrationDocSchema, parseDocument, pipelineDocSchema } from '@e11/core';

import type { ChaosConfig } from './chaos-config.js';
import { type ChaosEmulators, type ChaosStack, startChaosStack } from './chaos-stack.js';
import { drainTopic } from './drain.js';
import type { Fault, FaultTarget } from './faults/fault.js';
import { killBackend } from './faults/kill-backend.js';
import { killNextTask, killTask } from './faults/kill-task.js';
import { cutFirestore, stallFirestore, stallPubSub } from './faults/proxy-faults.js';
import { rejectRuns } from './faults/reject-runs.js';
import { restartFunctions } from './faults/restart-functions.js';
import { triggerFaults } from './faults/trigger-faults.js';
import { checkInvariants, type InvariantReport } from './invariants.js';
import { leftoverProcesses } from './processes.js';
import { Random } from './random.js';
import { type Expected, kickOffOne, startPipelineOne } from './workload.js';

/** Every fault the schedule draws from, with its weight. */
const FAULTS: [Fault, number][] = [
  [killTask, 4],
  [killNextTask, 2],
  [rejectRuns, 2],
  [restartFunctions, 1],
  [stallFirestore, 2],
  [cutFirestore, 1],
  [stallPubSub, 1],
  [triggerFaults, 2],
  [killBackend, 2],
];

/** The outcome of one chaos run. */
export interface ChaosReport extends InvariantReport {
  seed: number;
  faults: number;
  /** Each injected fault, in order (for replay diagnostics). */
  log: string[];
  /** Executions started on the Cloud Run emulator (relaunches and duplicates included). */
  executions: string;
  /** Seconds spent starting the stack, in the fault phase, settling, and checking. */
  seconds: { start: number; faults: number; settle: number; check: number };
}

function drawFault(random: Random): Fault {
  const total = FAULTS.reduce((sum, [, weight]) => sum + weight, 0);
  let ticket = random.next() * total;
  for (const [fault, weight] of FAULTS) {
    ticket -= weight;
    if (ticket < 0) return fault;
  }
  return FAULTS[0]?.[0] ?? killTask;
}

/**
 * Resolves once every registered orchestration ended and published, and no half-registered one is left.
 * A backlog that still drains is not a loss: the wait goes on while orchestrations keep ending (at most
 * `timeoutMs` without one ending, and twice `timeoutMs` in all).
 */
async function settle(chaos: ChaosStack, timeoutMs: number): Promise<string | null> {
  const cap = Date.now() + 2 * timeoutMs;
  let deadline = Date.now() + timeoutMs;
  let fewestOpen = Number.POSITIVE_INFINITY;
  let pending = '';
  while (Date.now() < Math.min(deadline, cap)) {
    const snapshots = await createStore({ firestore: chaos.firestore }).collections.orchestrations().get();
    const open = snapshots.docs
      .map((snapshot) => parseDocument(orchestrationDocSchema, snapshot))
      .filter((o) => !o.registered || !isTerminal(o.status) || o.eventPending)
      .map(
        (o) =>
          `${o.id} (${o.registered ? `${o.status}${o.eventPending ? ', event pending' : ''}` : 'half-registered'})`,
      );
    const pipelines = await chaos.firestore.collection('e11_pipelines').get();
    for (const snapshot of pipelines.docs) {
      const pipeline = parseDocument(pipelineDocSchema, snapshot);
      if (pipeline.status !== 'InProgress' && pipeline.event?.published === true) continue;
      open.push(
        `pipeline ${pipeline.id} (${pipeline.status}, stage ${pipeline.current}, event ${pipeline.event === null ? 'none' : 'pending'})`,
      );
    }
    if (open.length === 0) return null;
    if (open.length < fewestOpen) {
      fewestOpen = open.length;
      deadline = Date.now() + timeoutMs;
    }
    const previous = pending;
    pending = open.join(', ');
    if (process.env.E11_CHAOS_VERBOSE === '1' && pending !== previous) {
      console.log(`${new Date().toISOString()} settling: ${pending || 'tasks running'}`);
    }
    // A poll of the emulators' real state, bounded by the deadline.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return `not settled (no orchestration ended for ${timeoutMs} ms, or ${2 * timeoutMs} ms in all): ${pending}`;
}

/** How many executions the run started, and how many still wait or run once everything ended. */
function executionFigures(chaos: ChaosStack): string {
  const executions = chaos.stack.cloudRun.listExecutions();
  const open = executions.filter((e) => e.state === 'pending' || e.state === 'running').length;
  const tasks = executions.reduce((sum, e) => sum + e.taskCount, 0);
  return `${executions.length} executions (${tasks} tasks), ${open} still pending or running at the end`;
}

/**
 * One chaos run: kicks off the seeded work while injecting seeded faults for `config.faultPhaseMs`,
 * heals every fault, waits for everything to end, drains the topic and checks the invariants.
 */
export async function runChaos(
  projectId: string,
  emulators: ChaosEmulators,
  config: ChaosConfig,
): Promise<ChaosReport> {
  const began = Date.now();
  const random = new Random(config.seed);
  const workRandom = new Random(config.seed ^ 0x5eed);
  const chaos = await startChaosStack(projectId, emulators, config);
  const expected: Expected = { byId: new Map(), byTag: new Map(), pipelines: new Map() };
  const target: FaultTarget = { chaos, config, random, expected };
  const log: string[] = [];
  const errors: string[] = [];
  const running = new Set<Promise<void>>();
  /** Runs `work` concurrently with the schedule; its failure is recorded, never left unhandled. */
  const track = (what: string, work: Promise<unknown>) => {
    const promise: Promise<void> = work
      .then(
        () => undefined,
        (error: unknown) => {
          errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
        },
      )
      .then(() => {
        running.delete(promise);
      });
    running.add(promise);
  };
  let report: ChaosReport | undefined;
  const secondsSince = (at: number) => Math.round((Date.now() - at) / 100) / 10;
  try {
    const start = Date.now();
    const startSeconds = secondsSince(began);
    const kickOffEvery = (config.faultPhaseMs * 0.7) / config.orchestrations;
    let kicked = 0;
    let nextFaultAt = start;
    while (Date.now() - start < config.faultPhaseMs) {
      const elapsed = Date.now() - start;
      if (kicked < config.orchestrations && elapsed >= kicked * kickOffEvery) {
        kicked++;
        // One kick-off in five is a two-stage pipeline, whose next stage the (killed) functions start.
        if (workRandom.chance(0.2)) track('pipeline', startPipelineOne(chaos, workRandom, config, expected));
        else track('kick-off', kickOffOne(chaos, workRandom, config, expected));
      }
      if (Date.now() >= nextFaultAt) {
        const fault = drawFault(random);
        track(
          fault.name,
          fault.inject(target).then((what) => {
            if (what) log.push(`${Math.round((Date.now() - start) / 100) / 10}s ${fault.name}: ${what}`);
          }),
        );
        nextFaultAt = Date.now() + random.int(...config.faultGapMs);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await Promise.all([...running]);
    for (const [fault] of FAULTS) await fault.heal?.(target);
    chaos.stack.cloudRun.faults.clear();

    const faultSeconds = secondsSince(start);
    const settling = Date.now();
    const unsettled = await settle(chaos, config.settleTimeoutMs);
    const settleSeconds = secondsSince(settling);
    const executions = executionFigures(chaos);
    const checking = Date.now();
    await drainTopic(chaos);
    const invariants = await checkInvariants(chaos, expected);
    report = {
      ...invariants,
      seed: config.seed,
      faults: log.length,
      log,
      executions,
      seconds: {
        start: startSeconds,
        faults: faultSeconds,
        settle: settleSeconds,
        check: secondsSince(checking),
      },
    };
    if (unsettled) report.violations.unshift(unsettled);
    report.violations.push(...errors.map((error) => `harness: ${error}`));
  } finally {
    await Promise.all([...running]);
    const pids = chaos.stack.cloudRun.listExecutions().flatMap((e) => e.tasks.flatMap((t) => t.pids));
    await chaos.close();
    const left = await leftoverProcesses(pids, chaos.stack.functions.running);
    report?.violations.push(...left);
  }
  if (!report) throw new Error('the chaos run ended without a report');
  return report;
}
