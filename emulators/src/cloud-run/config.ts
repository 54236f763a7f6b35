import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

import { z } from 'zod';

import {
  DEFAULT_MAX_RETRIES,
  DEFAULT_TASK_TIMEOUT_MS,
  ENV_NAME_PATTERN,
  JOB_ID_PATTERN,
  MAX_ENV_LENGTH,
  MAX_RETRIES_LIMIT,
  MAX_TASK_COUNT,
  MAX_TASK_TIMEOUT_MS,
  RESERVED_ENV_NAMES,
} from './defaults.js';
import { CloudRunEmulatorError } from './errors.js';
import type { CloudRunEmulatorConfig, CloudRunJobDefinition } from './interfaces.js';
import { parseDuration } from './time.js';

/** A job definition with defaults filled in and paths made absolute. */
export interface CompiledJobDefinition {
  id: string;
  /** A fresh UUID per definition: the job's uid. */
  uid: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  image: string;
  taskCount: number;
  parallelism: number;
  maxRetries: number;
  timeoutMs: number;
  /** The container's `resources.limits` GetJob returns (cpu, memory), as given. */
  limits: Record<string, string>;
  /** When the definition was loaded: the job's createTime. */
  createdAtMs: number;
}

const envName = z
  .string()
  .max(MAX_ENV_LENGTH)
  .regex(ENV_NAME_PATTERN, { error: 'must be a valid environment variable name' })
  .refine((name) => !RESERVED_ENV_NAMES.includes(name), { error: 'is reserved: Cloud Run sets it' });

const jobDefinitionSchema = z
  .object({
    command: z.string({ error: 'is required (the program that stands in for the image)' }).min(1, {
      error: 'must not be empty',
    }),
    args: z.array(z.string()).default([]),
    cwd: z.string().min(1).optional(),
    env: z.record(envName, z.string().max(MAX_ENV_LENGTH)).default({}),
    image: z.string().min(1).optional(),
    taskCount: z.int().min(1).max(MAX_TASK_COUNT).default(1),
    parallelism: z.int().min(0).max(MAX_TASK_COUNT).default(0),
    maxRetries: z.int().min(0).max(MAX_RETRIES_LIMIT).default(DEFAULT_MAX_RETRIES),
    timeout: z
      .string()
      .refine(
        (text) => {
          const ms = parseDuration(text);
          return ms !== undefined && ms > 0 && ms <= MAX_TASK_TIMEOUT_MS;
        },
        { error: 'must be a duration like "600s", "10m" or "250ms", above 0 and at most 7 days' },
      )
      .optional(),
    cpu: z
      .string()
      .regex(/^\d+(\.\d+)?m?$/, { error: 'must be a CPU limit like "1", "2" or "1000m"' })
      .optional(),
    memory: z
      .string()
      .regex(/^\d+(\.\d+)?(k|M|G|T|Ki|Mi|Gi|Ti)?$/, { error: 'must be a memory limit like "512Mi" or "2Gi"' })
      .optional(),
  })
  .strict();

const jobId = z.string().regex(JOB_ID_PATTERN, {
  error: 'job ids must be RFC 1035 labels: lower-case letters, digits and hyphens, at most 63 characters',
});

const configSchema = z.object({ jobs: z.record(jobId, jobDefinitionSchema) }).strict();

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      const inner = issue.code === 'invalid_key' ? `: ${issue.issues.map((i) => i.message).join('; ')}` : '';
      return `${path === '' ? '(root)' : path}: ${issue.message}${inner}`;
    })
    .join('; ');
}

function compileJob(
  id: string,
  parsed: z.output<typeof jobDefinitionSchema>,
  baseDir: string,
): CompiledJobDefinition {
  const command =
    parsed.command.includes('/') && !isAbsolute(parsed.command)
      ? resolve(baseDir, parsed.command)
      : parsed.command;
  return {
    id,
    uid: randomUUID(),
    command,
    args: parsed.args,
    cwd: parsed.cwd === undefined ? baseDir : resolve(baseDir, parsed.cwd),
    env: parsed.env,
    image: parsed.image ?? `local/${id}`,
    taskCount: parsed.taskCount,
    parallelism: parsed.parallelism,
    maxRetries: parsed.maxRetries,
    timeoutMs: parsed.timeout === undefined ? DEFAULT_TASK_TIMEOUT_MS : (parseDuration(parsed.timeout) ?? 0),
    limits: {
      ...(parsed.cpu === undefined ? {} : { cpu: parsed.cpu }),
      ...(parsed.memory === undefined ? {} : { memory: parsed.memory }),
    },
    createdAtMs: Date.now(),
  };
}

/**
 * Validates one job definition given in code and fills its defaults; relative paths resolve against
 * `baseDir`. Throws {@link CloudRunEmulatorError} naming the field at fault.
 */
export function compileJobDefinition(
  id: string,
  definition: CloudRunJobDefinition,
  baseDir: string = process.cwd(),
): CompiledJobDefinition {
  const idResult = jobId.safeParse(id);
  if (!idResult.success) {
    throw new CloudRunEmulatorError(
      'E11_CLOUD_RUN_CONFIG_INVALID',
      `Invalid Cloud Run job id "${id}": ${describeIssues(idResult.error)}`,
    );
  }
  const result = jobDefinitionSchema.safeParse(definition);
  if (!result.success) {
    throw new CloudRunEmulatorError(
      'E11_CLOUD_RUN_CONFIG_INVALID',
      `Invalid Cloud Run job "${id}": ${describeIssues(result.error)}`,
    );
  }
  return compileJob(id, result.data, baseDir);
}

function compileConfig(input: unknown, baseDir: string, source: string): Map<string, CompiledJobDefinition> {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw new CloudRunEmulatorError(
      'E11_CLOUD_RUN_CONFIG_INVALID',
      `Invalid Cloud Run emulator config ${source}: ${describeIssues(result.error)}`,
    );
  }
  const jobs = new Map<string, CompiledJobDefinition>();
  for (const [id, parsed] of Object.entries(result.data.jobs)) jobs.set(id, compileJob(id, parsed, baseDir));
  return jobs;
}

/**
 * Loads job definitions from a JSON file (relative paths resolve against its directory) or from a
 * config object (relative paths resolve against the current directory). Throws
 * {@link CloudRunEmulatorError} naming the file and field when the file is missing or malformed.
 */
export function loadCloudRunConfig(
  config: string | CloudRunEmulatorConfig,
): Map<string, CompiledJobDefinition> {
  if (typeof config !== 'string') return compileConfig(config, process.cwd(), '(object)');
  const file = resolve(config);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CloudRunEmulatorError(
      missing ? 'E11_CLOUD_RUN_CONFIG_NOT_FOUND' : 'E11_CLOUD_RUN_CONFIG_INVALID',
      missing
        ? `Cloud Run emulator config file not found: ${file}`
        : `Cloud Run emulator config file ${file} cannot be read: ${(error as Error).message}`,
      { cause: error },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CloudRunEmulatorError(
      'E11_CLOUD_RUN_CONFIG_INVALID',
      `Cloud Run emulator config file ${file} is not valid JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return compileConfig(parsed, dirname(file), file);
}
