import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { CHAOS_JOB, CHAOS_SERVICE } from '../chaos-stack.js';
import { chaosKickOffOptions, chaosParams } from '../workload.js';

import type { Fault } from './fault.js';

/** Where the child resolves `@e11/sdk` from: the repository root. */
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

let kickoffs = 0;

/**
 * A backend process kicks off one orchestration (through OrchestrationService, launching in the
 * background) and is SIGKILLed a random moment after it started: before, during or after its
 * registration and launches. Its orchestration carries a `chaosKickoff` tag, so the invariants know
 * which params it asked for even when it died before it could say its id.
 */
export const killBackend: Fault = {
  name: 'kill-backend',
  async inject({ chaos, random, config, expected }) {
    const tag = `${chaos.projectId}-${++kickoffs}`;
    const params = chaosParams(random, config);
    const options = chaosKickOffOptions(random, config, { chaosKickoff: tag });
    expected.byTag.set(tag, params);
    const script = `
      import { OrchestrationService } from '@e11/sdk';
      const service = new OrchestrationService({
        cloudRunEndpoint: process.env.E11_CLOUD_RUN_EMULATOR_HOST,
        defaultTopic: ${JSON.stringify(chaos.topic)},
        serviceName: { ${CHAOS_JOB}: ${JSON.stringify(CHAOS_SERVICE)} },
        launch: { ratePerMinute: 100000 },
      });
      const started = Date.now();
      await service.kickOffJob(${JSON.stringify(CHAOS_JOB)}, ${JSON.stringify(params)}, ${JSON.stringify(options)});
      process.stdout.write('registered after ' + (Date.now() - started) + ' ms\\n');
      setInterval(() => undefined, 60000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...chaos.backendEnv, E11_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-2_000)));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    // A backend needs a few seconds to start and register: kill it before, during or after that.
    const afterMs = random.int(1_000, 12_000);
    await new Promise((resolve) => setTimeout(resolve, afterMs));
    child.kill('SIGKILL');
    const [code, signal] = await exited;
    if (signal !== 'SIGKILL') throw new Error(`the backend exited by itself (${code}): ${stderr.trim()}`);
    const registered = stdout.trim() || 'before its kick-off returned';
    return `backend SIGKILLed ${afterMs} ms after it started a kick-off of ${params.length} jobs (${registered})`;
  },
};
