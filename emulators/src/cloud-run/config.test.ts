import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compileJobDefinition, loadCloudRunConfig } from './config.js';
import { CloudRunEmulatorError } from './errors.js';
import { OutputBuffer } from './output-buffer.js';
import { parseDuration } from './time.js';

let dir: string;

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'e11-cloud-run-config-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Cloud Run emulator config', () => {
  it('fills Cloud Run defaults and resolves relative paths against the config file directory', () => {
    const file = writeConfig(
      'ok.json',
      JSON.stringify({ jobs: { 'word-count': { command: './bin/run', cwd: 'sub' } } }),
    );
    const job = loadCloudRunConfig(file).get('word-count');
    expect(job).toMatchObject({
      command: join(dir, 'bin/run'),
      cwd: join(dir, 'sub'),
      args: [],
      env: {},
      taskCount: 1,
      parallelism: 0,
      maxRetries: 3,
      timeoutMs: 600_000,
      image: 'local/word-count',
    });
  });

  it('loads the example config shipped with the emulators', () => {
    const jobs = loadCloudRunConfig(join(import.meta.dirname, '../../cloud-run.example.json'));
    expect(jobs.get('word-count')).toMatchObject({ command: 'node', maxRetries: 0, timeoutMs: 600_000 });
  });

  it('names the file when it is missing', () => {
    const file = join(dir, 'missing.json');
    expect(() => loadCloudRunConfig(file)).toThrow(
      expect.objectContaining({
        code: 'E11_CLOUD_RUN_CONFIG_NOT_FOUND',
        message: expect.stringContaining(file) as unknown,
      }),
    );
  });

  it('names the file when it is not JSON', () => {
    const file = writeConfig('broken.json', '{ "jobs": ');
    expect(() => loadCloudRunConfig(file)).toThrow(new RegExp(`${file} is not valid JSON`));
  });

  it('names the file and the field when a job has no command', () => {
    const file = writeConfig('no-command.json', JSON.stringify({ jobs: { 'word-count': { args: [] } } }));
    expect(() => loadCloudRunConfig(file)).toThrow(CloudRunEmulatorError);
    expect(() => loadCloudRunConfig(file)).toThrow(
      new RegExp(`${file}: jobs\\.word-count\\.command: is required`),
    );
  });

  it('rejects unknown fields, bad ids, reserved env names and out-of-range limits', () => {
    const bad = [
      { jobs: { a: { command: 'x', image2: 'y' } } },
      { jobs: { Upper_Case: { command: 'x' } } },
      { jobs: { a: { command: 'x', env: { CLOUD_RUN_TASK_INDEX: '1' } } } },
      { jobs: { a: { command: 'x', taskCount: 10_001 } } },
      { jobs: { a: { command: 'x', maxRetries: 11 } } },
      { jobs: { a: { command: 'x', timeout: '8d' } } },
      { jobs: { a: { command: 'x', timeout: 'soon' } } },
      { jobs: { a: { command: 'x', cpu: 'two' } } },
      { jobs: { a: { command: 'x', memory: '512MB' } } },
      { jobs: [] },
    ];
    for (const config of bad)
      expect(() => loadCloudRunConfig(config as never)).toThrow(CloudRunEmulatorError);
  });

  it('compiles a job defined in code against the current directory', () => {
    expect(compileJobDefinition('a', { command: 'node', cwd: 'x', timeout: '1.5s' })).toMatchObject({
      cwd: join(process.cwd(), 'x'),
      timeoutMs: 1_500,
    });
  });

  it("keeps a job's cpu and memory limits as given, and none when not given", () => {
    expect(compileJobDefinition('a', { command: 'node', cpu: '2', memory: '1Gi' }).limits).toEqual({
      cpu: '2',
      memory: '1Gi',
    });
    expect(compileJobDefinition('b', { command: 'node', cpu: '500m' }).limits).toEqual({ cpu: '500m' });
    expect(compileJobDefinition('c', { command: 'node' }).limits).toEqual({});
  });

  it('parses durations in ms, s, m, h and d', () => {
    expect(['250ms', '600s', '10m', '1.5h', '1d', '10', '-1s'].map(parseDuration)).toEqual([
      250,
      600_000,
      600_000,
      5_400_000,
      86_400_000,
      undefined,
      undefined,
    ]);
  });

  it('keeps only the tail of task output beyond its byte limit', () => {
    const buffer = new OutputBuffer(10);
    buffer.append('0123456789');
    buffer.append('abcdef');
    expect(buffer.toString()).toBe('6789abcdef');
  });
});
