import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { E11Error, ErrorCode } from '../errors.js';
import type { JobParams, JsonValue } from '../model/json.js';
import { type AnyJobHandle, isJobHandle } from '../orchestration/job-handle.js';
import type { KickOffOptions } from '../orchestration/options.js';
import type { JobFailure, JobSuccess } from '../orchestration/results.js';
import { validateJobName } from '../validate/job-name.js';

/**
 * What a stage's failed jobs do to the pipeline: `fail` ends it `Errored` after the stage; `continue`
 * gives the next stage the successes and the failures; `ignore-failures` gives it the successes only.
 */
export const STAGE_FAILURE_MODES = ['fail', 'continue', 'ignore-failures'] as const;
export type StageFailureMode = (typeof STAGE_FAILURE_MODES)[number];

/** The kick-off options a stage may set for its orchestration; tags, topic, tenant and sensitive keys come from the pipeline. */
export type StageKickOffOptions = Pick<
  KickOffOptions,
  | 'mode'
  | 'launchConcurrency'
  | 'timeout'
  | 'taskTimeout'
  | 'orchestrationTimeout'
  | 'retry'
  | 'taskRetries'
  | 'heartbeatTimeout'
  | 'maxParallel'
  | 'concurrency'
  | 'maxFailures'
  | 'maxFailureRatio'
  | 'successPolicy'
>;

/** The previous stage's outcome, as a stage's `params` function receives it (unredacted: it runs in E11's own processes). */
export interface PreviousStage {
  /** The previous stage's name. */
  stage: string;
  /** Its orchestration; null when it had no job (its `params` returned none). */
  orchestrationId: string | null;
  successes: JobSuccess[];
  /** Empty with `ignore-failures`. */
  failures: JobFailure[];
}

/** What a stage's `params` function gets: the pipeline's input and, past the first stage, the previous stage's outcome. */
export interface StageInput<I extends JsonValue = JsonValue> {
  input: I;
  /** Null for the first stage. */
  previous: PreviousStage | null;
  pipelineId: string;
}

/** The job of a stage: its `@JobName` name, or its job handle (`defineJob`: its schema checks the stage's params). */
export type StageJob = string | AnyJobHandle;

/** The job name of a stage's job. */
export function stageJobName(job: StageJob): string {
  return isJobHandle(job) ? job.name : job;
}

/** One stage of a pipeline: a job (name or handle) and the function that gives its parameter sets. */
export interface PipelineStage<I extends JsonValue = JsonValue> {
  /** Unique within the pipeline: 1-63 letters, digits, `_` or `-`. */
  name: string;
  /** The job this stage kicks off: its `@JobName` name, or its job handle. */
  job: StageJob;
  /**
   * The stage's parameter sets, one job each (fan-out: many; fan-in: one). It must be deterministic and
   * free of side effects: a redelivered trigger may call it again (the kick-off it feeds is idempotent).
   * None: the stage is skipped and the next one gets no results. A throw ends the pipeline `Errored`.
   */
  // A method signature, so that a pipeline of a narrower input type is still a PipelineDefinition.
  params(from: StageInput<I>): readonly JobParams[] | Promise<readonly JobParams[]>;
  /** @default 'fail' */
  onFailure?: StageFailureMode;
  /** Options of this stage's kick-off. */
  options?: StageKickOffOptions;
}

/** A pipeline as given to {@link definePipeline}. */
export interface PipelineSpec<I extends JsonValue = JsonValue> {
  /** 1-63 lower-case letters, digits and `-`, starting with a letter. */
  name: string;
  stages: readonly PipelineStage<I>[];
}

/** A validated pipeline: register the same object with the backend and the functions deployment. */
export interface PipelineDefinition<I extends JsonValue = JsonValue> {
  readonly name: string;
  readonly stages: readonly Readonly<PipelineStage<I>>[];
  /**
   * The shape (stage names, jobs, failure modes), hashed: a running pipeline is advanced only by a
   * definition of the same shape (a changed deployment ends it `Errored`, reason `definitionChanged`).
   */
  readonly fingerprint: string;
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const STAGE_NAME = /^[A-Za-z0-9_-]{1,63}$/;
/** Stages per pipeline at most. */
export const MAX_STAGES = 20;

function invalid(message: string, path: string): E11Error {
  return new E11Error(ErrorCode.InvalidOptions, message, { context: { path } });
}

/**
 * Validates a pipeline and freezes it. Throws `E11_INVALID_OPTIONS` (the path named) for a bad name,
 * no stage or more than `MAX_STAGES`, a duplicate stage name, a bad job name, a missing `params`
 * function or an unknown failure mode.
 */
export function definePipeline<I extends JsonValue = JsonValue>(
  spec: PipelineSpec<I>,
): PipelineDefinition<I> {
  if (typeof spec !== 'object' || spec === null) throw invalid('pipeline: must be an object.', 'pipeline');
  if (typeof spec.name !== 'string' || !NAME.test(spec.name)) {
    throw invalid(
      `name: '${String(spec.name)}' must be 1-63 lower-case letters, digits and '-', starting with a letter.`,
      'name',
    );
  }
  const list: readonly PipelineStage<I>[] = spec.stages;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_STAGES) {
    throw invalid(`stages: must list 1 to ${MAX_STAGES} stages.`, 'stages');
  }
  const names = new Set<string>();
  const stages = list.map((stage: PipelineStage<I>, index: number) => {
    const path = `stages[${index}]`;
    if (typeof stage !== 'object' || stage === null) throw invalid(`${path}: must be an object.`, path);
    if (typeof stage.name !== 'string' || !STAGE_NAME.test(stage.name)) {
      throw invalid(`${path}.name: must be 1-63 letters, digits, '_' or '-'.`, `${path}.name`);
    }
    if (names.has(stage.name)) throw invalid(`${path}.name: '${stage.name}' is used twice.`, `${path}.name`);
    names.add(stage.name);
    try {
      if (!isJobHandle(stage.job)) validateJobName(stage.job);
    } catch (error) {
      throw invalid(`${path}.job: ${(error as Error).message}`, `${path}.job`);
    }
    if (typeof stage.params !== 'function') {
      throw invalid(
        `${path}.params: must be a function returning the stage's parameter sets.`,
        `${path}.params`,
      );
    }
    const onFailure = stage.onFailure ?? 'fail';
    if (!(STAGE_FAILURE_MODES as readonly string[]).includes(onFailure)) {
      throw invalid(
        `${path}.onFailure: must be one of ${STAGE_FAILURE_MODES.join(', ')}.`,
        `${path}.onFailure`,
      );
    }
    return Object.freeze({ ...stage, onFailure, options: Object.freeze({ ...stage.options }) });
  });
  const shape = JSON.stringify([spec.name, stages.map((s) => [s.name, stageJobName(s.job), s.onFailure])]);
  const fingerprint = createHash('sha256').update(shape).digest('hex').slice(0, 16);
  return Object.freeze({ name: spec.name, stages: Object.freeze(stages), fingerprint });
}

/** The pipelines a process can advance, by name. */
export class PipelineRegistry {
  readonly #byName = new Map<string, PipelineDefinition>();

  constructor(definitions: readonly PipelineDefinition[] = []) {
    for (const definition of definitions) {
      if (typeof definition?.fingerprint !== 'string') {
        throw invalid('pipelines: each entry must come from definePipeline().', 'pipelines');
      }
      const known = this.#byName.get(definition.name);
      if (known && known !== definition) {
        throw invalid(`pipelines: '${definition.name}' is registered twice.`, 'pipelines');
      }
      this.#byName.set(definition.name, definition);
    }
  }

  get size(): number {
    return this.#byName.size;
  }

  get(name: string): PipelineDefinition | undefined {
    return this.#byName.get(name);
  }

  /**
   * The registered definition `definition` names; `E11_UNKNOWN_PIPELINE` when none is registered by
   * that name or the registered one has another shape.
   */
  resolve(definition: PipelineDefinition | string): PipelineDefinition {
    const name = typeof definition === 'string' ? definition : definition?.name;
    const known = typeof name === 'string' ? this.#byName.get(name) : undefined;
    if (!known || (typeof definition !== 'string' && definition.fingerprint !== known.fingerprint)) {
      throw new E11Error(
        ErrorCode.UnknownPipeline,
        `Pipeline '${String(name)}' is not registered with this service: pass it in the \`pipelines\` option here and in the functions deployment (E11_PIPELINES_MODULE), so every stage can run.`,
        { context: { pipeline: String(name) } },
      );
    }
    return known;
  }
}

/**
 * The pipelines a module exports, for a deployment that names its module in E11_PIPELINES_MODULE: its
 * `pipelines` export (an array), else its default export (an array or one definition), else every
 * export that is a definition.
 */
export async function loadPipelinesModule(specifier: string): Promise<PipelineDefinition[]> {
  const module = (await import(specifier)) as Record<string, unknown>;
  const isDefinition = (value: unknown): value is PipelineDefinition =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PipelineDefinition).fingerprint === 'string';
  const listed = module.pipelines ?? module.default;
  if (Array.isArray(listed)) return listed.filter(isDefinition);
  if (isDefinition(listed)) return [listed];
  return Object.values(module).filter(isDefinition);
}

/**
 * The registry from E11_PIPELINES_MODULE — a package name, an absolute path, or a path starting with
 * `./` or `../` from the working directory (a function's deployed source) — or an empty one without it.
 */
export async function pipelinesFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<PipelineRegistry> {
  const specifier = env.E11_PIPELINES_MODULE;
  if (specifier === undefined || specifier === '') return new PipelineRegistry();
  const path = /^\.\.?\//.test(specifier) ? resolve(specifier) : specifier;
  const resolved = isAbsolute(path) ? pathToFileURL(path).href : path;
  return new PipelineRegistry(await loadPipelinesModule(resolved));
}
