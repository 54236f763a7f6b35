import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { runBuiltCli } from './helpers/cli.js';
import { ensureTopic, monitoringService, runToCompletion } from './helpers/monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';

const projectId = testProjectId('cli-process');
const { firestore, pubsub } = emulatorClients(projectId);
const e11 = (args: string[]) => runBuiltCli(projectId, args);

afterAll(async () => {
  await firestore.terminate();
  await pubsub.close();
});

describe('the built e11 executable', () => {
  it('exits 3 with one readable line, no stack trace, for an unknown orchestration', async () => {
    const { code, stdout, stderr } = await e11(['status', 'no-such-orchestration']);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'e11: Orchestration no-such-orchestration does not exist. (E11_UNKNOWN_ORCHESTRATION)\n',
    );
    expect(code).toBe(3);
  });

  it('prints an orchestration as JSON and exits 0', async () => {
    await ensureTopic(pubsub); // kickOffJob checks that its event's topic exists
    const service = monitoringService(firestore, pubsub, 'p_');
    const { orchestrationId, jobIds } = await service.kickOffJob('process_batch', [{ a: 1 }]);
    await runToCompletion(
      storeFor(firestore, { collectionPrefix: 'p_' }),
      orchestrationId,
      jobIds[0] as string,
    );
    await service.close();
    const { code, stdout, stderr } = await e11(['--prefix', 'p_', '--json', 'status', orchestrationId]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ id: orchestrationId, counts: { completed: 1 }, progress: 1 });
  });

  it('keeps stdout for the output: logs go to stderr, so --json stays parseable', async () => {
    await ensureTopic(pubsub);
    const service = monitoringService(firestore, pubsub, 'l_');
    const first = await service.kickOffJob('process_batch', [{ a: 1 }], { idempotencyKey: 'nightly-1' });
    await service.close();
    const dir = await mkdtemp(join(tmpdir(), 'e11-cli-log-'));
    try {
      const params = join(dir, 'params.jsonl');
      await writeFile(params, '{"a":1}\n');
      // The repeated key makes the kick-off log (debug) that it waits for the first one's registration.
      const { code, stdout, stderr } = await runBuiltCli(
        projectId,
        [
          '--prefix',
          'l_',
          '--json',
          'kickoff',
          'process_batch',
          '--params',
          params,
          '--idempotency-key',
          'nightly-1',
        ],
        { E11_LOG_LEVEL: 'debug' },
      );
      expect(code, stderr).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({
        orchestrationId: first.orchestrationId,
        deduplicated: true,
      });
      expect(stderr).toContain('idempotency key already used');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("--tenant scopes every command: another tenant's orchestration answers as an unknown id", async () => {
    await ensureTopic(pubsub);
    const service = monitoringService(firestore, pubsub, 't_');
    const acme = service.forTenant('acme');
    const { orchestrationId } = await acme.kickOffJob('process_batch', [{ customer: 'acme-secret-42' }]);
    await service.close();
    const asOther = await e11(['--prefix', 't_', '--tenant', 'globex', 'status', orchestrationId]);
    const unknown = await e11(['--prefix', 't_', '--tenant', 'globex', 'status', 'no-such-orchestration']);
    expect(asOther.code).toBe(3);
    expect(asOther.stdout).toBe('');
    expect(asOther.stderr.replace(orchestrationId, '<id>')).toBe(
      unknown.stderr.replace('no-such-orchestration', '<id>'),
    );
    const history = await e11(['--prefix', 't_', '--tenant', 'globex', '--json', 'history']);
    expect(history.code).toBe(0);
    expect(history.stdout).not.toContain(orchestrationId);
    const asOwner = await e11(['--prefix', 't_', '--tenant', 'acme', '--json', 'status', orchestrationId]);
    expect(asOwner.code).toBe(0);
    expect(JSON.parse(asOwner.stdout)).toMatchObject({ id: orchestrationId, total: 1 });
  });

  it('exits 2 with one line for a usage error', async () => {
    const { code, stderr } = await e11(['watch']);
    expect(stderr).toBe("e11: missing required argument 'id'\n");
    expect(code).toBe(2);
  });
});
