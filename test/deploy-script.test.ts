import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const ARGS = [
  '--project',
  'demo-proj',
  '--region',
  'europe-west1',
  '--image',
  'europe-docker.pkg.dev/demo-proj/e11/sum-sales:1',
];
const sa = (id: string) => `${id}@demo-proj.iam.gserviceaccount.com`;
const member = (id: string) => `serviceAccount:${sa(id)}`;

// Stand-ins for every tool the script may call. Each records its argv (fields split by \x1f, calls by
// \x1e) and succeeds; `describe` probes fail ("not found") unless E11_FAKE_EXISTING=1, and
// `gcloud functions describe` prints a URL. Nothing reaches a real gcloud, npm or node.
const FAKE_TOOL = `#!/bin/bash
{ printf '%s' "\${0##*/}"; printf '\\x1f%s' "$@"; printf '\\x1e'; } >> "$E11_FAKE_LOG"
if [[ \${0##*/} == gcloud && " $* " == *" describe "* ]]; then
  if [[ $1 == functions ]]; then printf 'https://%s-fake.a.run.app\\n' "$3"; exit 0; fi
  [[ $E11_FAKE_EXISTING == 1 ]] && exit 0
  exit 1
fi
exit 0
`;
const fakeBin = mkdtempSync(join(tmpdir(), 'e11-deploy-fakes-'));
for (const tool of ['gcloud', 'node', 'npm', 'npx', 'firebase']) {
  writeFileSync(join(fakeBin, tool), FAKE_TOOL);
  chmodSync(join(fakeBin, tool), 0o755);
}
afterAll(() => rmSync(fakeBin, { recursive: true, force: true }));

interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every tool invocation the run made, as argv arrays. */
  calls: string[][];
}

let runs = 0;
/** Runs deploy/deploy.sh with the fake tools first on PATH. */
function deployScript(args: string[], env: Record<string, string> = {}): Promise<ScriptRun> {
  const log = join(fakeBin, `calls-${++runs}.log`);
  writeFileSync(log, '');
  const child = spawn('bash', ['deploy/deploy.sh', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: `${fakeBin}:/usr/bin:/bin`, E11_FAKE_LOG: log, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const calls = readFileSync(log, 'utf8')
        .split('\x1e')
        .filter((call) => call !== '')
        .map((call) => call.split('\x1f'));
      resolve({ code, stdout, stderr, calls });
    });
  });
}

/** Splits one printed command line into argv, the way a POSIX shell reads its quoting. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line.charAt(i);
    if (char === ' ') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (char === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (char === '\\') {
      word = (word ?? '') + line.charAt(++i);
    } else {
      word = (word ?? '') + char;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

const commandsOf = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line !== '')
    .map(shellWords);

const startsWith = (argv: string[], prefix: string[]) => prefix.every((word, i) => argv[i] === word);
const flag = (argv: string[], name: string) =>
  argv.find((word) => word.startsWith(`${name}=`))?.slice(name.length + 1);

/** The expression of a binding's `--condition` (KEY=VALUE pairs); undefined for `--condition=None` or none. */
function conditionOf(argv: string[]): string | undefined {
  const value = flag(argv, '--condition');
  if (value === undefined || value === 'None') return undefined;
  return /(?:^|,)expression=([^,]*)/.exec(value)?.[1];
}

/** The IAM condition that keeps a Firestore role on E11's database (Firestore per-database IAM conditions). */
const ON_E11_DATABASE = 'resource.name=="projects/demo-proj/databases/e11-jobs"';
const SCHEDULER_ROLE = 'projects/demo-proj/roles/e11SchedulerJobs';

/** Every IAM binding the commands add, as "scope resource member role [if condition]". */
function bindingsOf(commands: string[][]): string[] {
  const bindings: string[] = [];
  for (const argv of commands) {
    const [, group, kind, verb, resource] = argv;
    const binding = `${flag(argv, '--member')} ${flag(argv, '--role')}`;
    if (startsWith(argv, ['gcloud', 'projects', 'add-iam-policy-binding'])) {
      const condition = conditionOf(argv);
      bindings.push(`project ${verb} ${binding}${condition === undefined ? '' : ` if ${condition}`}`);
    } else if (group === 'pubsub' && verb === 'add-iam-policy-binding')
      bindings.push(`topic ${resource} ${binding}`);
    else if (group === 'run' && kind === 'jobs' && verb === 'add-iam-policy-binding')
      bindings.push(`run-job ${resource} ${binding}`);
    else if (group === 'iam' && verb === 'add-iam-policy-binding')
      bindings.push(`service-account ${resource} ${binding}`);
    else if (startsWith(argv, ['gcloud', 'functions', 'add-invoker-policy-binding']))
      bindings.push(`function ${verb} ${flag(argv, '--member')} roles/run.invoker`);
  }
  return bindings.sort();
}

const dryRun = await deployScript(['--dry-run', ...ARGS]);
const commands = commandsOf(dryRun.stdout);
const find = (prefix: string[]) => {
  const found = commands.filter((argv) => startsWith(argv, prefix));
  expect(found, `one command starting with ${prefix.join(' ')}`).toHaveLength(1);
  return found[0] ?? [];
};
const indexOf = (prefix: string[]) => commands.findIndex((argv) => startsWith(argv, prefix));

describe('deploy/deploy.sh --dry-run', () => {
  it('prints the commands, one per line, and runs none of them', () => {
    expect(dryRun.code).toBe(0);
    expect(dryRun.calls).toEqual([]);
    expect(commands.length).toBeGreaterThan(20);
    for (const argv of commands) expect(['gcloud', 'node', 'npx']).toContain(argv[0]);
    // Progress and the summary go to stderr, so stdout is nothing but commands.
    expect(dryRun.stderr).toContain('==> Done.');
  });

  it('creates one service account per component', () => {
    for (const id of ['e11-caller', 'e11-task', 'e11-functions', 'e11-trigger', 'e11-scheduler']) {
      const create = find(['gcloud', 'iam', 'service-accounts', 'create', id]);
      expect(create).toContain('--project=demo-proj');
    }
  });

  it('grants exactly the least-privilege bindings, at the narrowest scope gcloud offers', () => {
    expect(bindingsOf(commands)).toEqual(
      [
        `project demo-proj ${member('e11-caller')} roles/datastore.user if ${ON_E11_DATABASE}`,
        `project demo-proj ${member('e11-task')} roles/datastore.user if ${ON_E11_DATABASE}`,
        `project demo-proj ${member('e11-functions')} roles/datastore.user if ${ON_E11_DATABASE}`,
        `project demo-proj ${member('e11-caller')} ${SCHEDULER_ROLE}`,
        `project demo-proj ${member('e11-trigger')} roles/eventarc.eventReceiver`,
        `topic e11-job-completed ${member('e11-functions')} roles/pubsub.publisher`,
        `topic e11-job-completed ${member('e11-caller')} roles/pubsub.publisher`,
        `service-account ${sa('e11-scheduler')} ${member('e11-caller')} roles/iam.serviceAccountUser`,
        `run-job sum-sales ${member('e11-caller')} roles/run.jobsExecutorWithOverrides`,
        `run-job sum-sales ${member('e11-functions')} roles/run.jobsExecutorWithOverrides`,
        `function e11-on-job-written ${member('e11-trigger')} roles/run.invoker`,
        `function e11-sweep ${member('e11-scheduler')} roles/run.invoker`,
        `function e11-scheduler-tick ${member('e11-scheduler')} roles/run.invoker`,
      ].sort(),
    );
    for (const broad of ['roles/run.admin', 'roles/owner', 'roles/editor', 'roles/datastore.owner']) {
      expect(dryRun.stdout).not.toContain(broad);
    }
    for (const argv of commands.filter((a) =>
      startsWith(a, ['gcloud', 'projects', 'add-iam-policy-binding']),
    )) {
      const condition = conditionOf(argv);
      if (condition === undefined) expect(argv).toContain('--condition=None');
      else expect(flag(argv, '--condition')).toMatch(/^expression=[^,]+,title=[^,]+,description=[^,]+$/);
    }
  });

  it("grants no project-wide data role: every Firestore role is conditioned on E11's database, Cloud Scheduler a custom role", () => {
    const projectBindings = commands.filter((argv) =>
      startsWith(argv, ['gcloud', 'projects', 'add-iam-policy-binding']),
    );
    expect(projectBindings.length).toBeGreaterThan(0);
    for (const argv of projectBindings) {
      const role = flag(argv, '--role') ?? '';
      const who = flag(argv, '--member') ?? '';
      if (role.startsWith('roles/datastore.')) {
        expect(conditionOf(argv), `${who} ${role}`).toBe(ON_E11_DATABASE);
      }
      // The job's and the functions' accounts hold nothing project-wide but the conditioned data role.
      if (who === member('e11-task') || who === member('e11-functions')) {
        expect(`${role} if ${conditionOf(argv)}`).toBe(`roles/datastore.user if ${ON_E11_DATABASE}`);
      }
    }
    expect(dryRun.stdout).not.toContain('roles/cloudscheduler.admin');
    expect(dryRun.stdout).not.toMatch(/roles\/datastore\.(owner|importExportAdmin|bulkAdmin)/);
    // The custom role holds the job verbs the SDK's Cloud Scheduler sync calls, and nothing else.
    const role = find(['gcloud', 'iam', 'roles', 'create', 'e11SchedulerJobs']);
    expect(flag(role, '--permissions')?.split(',').sort()).toEqual(
      [
        'cloudscheduler.jobs.create',
        'cloudscheduler.jobs.delete',
        'cloudscheduler.jobs.enable',
        'cloudscheduler.jobs.get',
        'cloudscheduler.jobs.pause',
        'cloudscheduler.jobs.update',
      ].sort(),
    );
    expect(role).toContain('--project=demo-proj');
  });

  it('deploys onJobWritten with the Firestore trigger on the jobs sub-collection, its own identity and retries', () => {
    const deploy = find(['gcloud', 'functions', 'deploy', 'e11-on-job-written']);
    expect(deploy).toEqual(
      expect.arrayContaining([
        '--gen2',
        '--runtime=nodejs22',
        '--region=europe-west1',
        '--project=demo-proj',
        '--source=deploy/.build/functions',
        '--entry-point=onJobWritten',
        `--service-account=${sa('e11-functions')}`,
        '--trigger-location=nam5',
        '--trigger-event-filters=type=google.cloud.firestore.document.v1.written',
        '--trigger-event-filters=database=e11-jobs',
        '--trigger-event-filters-path-pattern=document=e11_orchestrations/{orchestrationId}/jobs/{jobId}',
        `--trigger-service-account=${sa('e11-trigger')}`,
        '--retry',
      ]),
    );
    expect(deploy).not.toContain('--trigger-http');
    // Quoted so a shell passes the parentheses and braces through unchanged.
    expect(dryRun.stdout).toContain(
      " --trigger-event-filters=database=e11-jobs '--trigger-event-filters-path-pattern=document=e11_orchestrations/{orchestrationId}/jobs/{jobId}' ",
    );
  });

  it('deploys sweep and schedulerTick as private HTTP functions', () => {
    for (const [name, entryPoint] of [
      ['e11-sweep', 'sweep'],
      ['e11-scheduler-tick', 'schedulerTick'],
    ] as const) {
      const deploy = find(['gcloud', 'functions', 'deploy', name]);
      expect(deploy).toEqual(
        expect.arrayContaining([
          `--entry-point=${entryPoint}`,
          '--trigger-http',
          '--no-allow-unauthenticated',
          `--service-account=${sa('e11-functions')}`,
          '--update-env-vars=GOOGLE_CLOUD_PROJECT=demo-proj,E11_REGION=europe-west1,E11_TOPIC=e11-job-completed,E11_COLLECTION_PREFIX=e11_,E11_FIRESTORE_DATABASE=e11-jobs',
        ]),
      );
      expect(deploy).not.toContain('--allow-unauthenticated');
    }
  });

  it('calls the sweep every minute from Cloud Scheduler with an OIDC token of the scheduler account', () => {
    const job = find(['gcloud', 'scheduler', 'jobs', 'create', 'http', 'e11-sweep']);
    const uri = flag(job, '--uri');
    expect(job).toEqual([
      'gcloud',
      'scheduler',
      'jobs',
      'create',
      'http',
      'e11-sweep',
      '--location=europe-west1',
      '--project=demo-proj',
      '--schedule=* * * * *',
      `--uri=${uri}`,
      '--http-method=POST',
      `--oidc-service-account-email=${sa('e11-scheduler')}`,
      `--oidc-token-audience=${uri}`,
      '--attempt-deadline=540s',
    ]);
    expect(uri).toContain('e11-sweep');
  });

  it('deploys the Cloud Run job of the image under the task account, named by the service-name convention', () => {
    expect(dryRun.stdout).toContain(
      'gcloud run jobs deploy sum-sales --image=europe-docker.pkg.dev/demo-proj/e11/sum-sales:1 ' +
        '--region=europe-west1 --project=demo-proj --service-account=e11-task@demo-proj.iam.gserviceaccount.com ' +
        '--max-retries=1 --task-timeout=10m --update-env-vars=GOOGLE_CLOUD_PROJECT=demo-proj,E11_COLLECTION_PREFIX=e11_,E11_FIRESTORE_DATABASE=e11-jobs\n',
    );
  });

  it('creates the topic, the Firestore database, rules and indexes', () => {
    expect(find(['gcloud', 'pubsub', 'topics', 'create'])).toEqual([
      'gcloud',
      'pubsub',
      'topics',
      'create',
      'e11-job-completed',
      '--project=demo-proj',
    ]);
    expect(find(['gcloud', 'firestore', 'databases', 'create'])).toEqual(
      expect.arrayContaining(['--database=e11-jobs', '--location=nam5', '--type=firestore-native']),
    );
    expect(find(['node', 'deploy/stage-firestore.mjs'])).toEqual([
      'node',
      'deploy/stage-firestore.mjs',
      '--prefix=e11_',
      '--database=e11-jobs',
      'deploy/.build/firestore',
    ]);
    expect(find(['npx', '--no', 'firebase', 'deploy'])).toEqual(
      expect.arrayContaining([
        '--only=firestore:rules,firestore:indexes',
        '--project=demo-proj',
        '--config=deploy/.build/firestore/firebase.json',
      ]),
    );
  });

  it('orders the steps so that everything a command names exists before it runs', () => {
    const before = (first: string[], then: string[]) =>
      expect(indexOf(first), `${first.join(' ')} before ${then.join(' ')}`).toBeLessThan(indexOf(then));
    before(['gcloud', 'services', 'enable'], ['gcloud', 'firestore', 'databases', 'create']);
    before(['gcloud', 'firestore', 'databases', 'create'], ['npx', '--no', 'firebase', 'deploy']);
    before(['node', 'deploy/stage-firestore.mjs'], ['npx', '--no', 'firebase', 'deploy']);
    before(['gcloud', 'iam', 'service-accounts', 'create', 'e11-scheduler'], ['gcloud', 'projects']);
    before(['gcloud', 'iam', 'roles', 'create', 'e11SchedulerJobs'], ['gcloud', 'projects']);
    before(
      ['gcloud', 'pubsub', 'topics', 'create'],
      ['gcloud', 'pubsub', 'topics', 'add-iam-policy-binding'],
    );
    before(['gcloud', 'run', 'jobs', 'deploy'], ['gcloud', 'run', 'jobs', 'add-iam-policy-binding']);
    before(['npx', 'tsc', '-b', 'packages/functions'], ['node', 'deploy/stage-functions.mjs']);
    before(['node', 'deploy/stage-functions.mjs'], ['gcloud', 'functions', 'deploy']);
    before(
      ['gcloud', 'functions', 'deploy', 'e11-sweep'],
      ['gcloud', 'functions', 'add-invoker-policy-binding'],
    );
    before(['gcloud', 'functions', 'deploy', 'e11-scheduler-tick'], ['gcloud', 'scheduler']);
  });

  it('applies --prefix, --topic, --firestore-location and several --job names everywhere they matter', async () => {
    const run = await deployScript([
      '--dry-run',
      ...ARGS,
      '--prefix=acme_',
      '--topic',
      'acme-done',
      '--firestore-location=eur3',
      '--database',
      'acme-jobs',
      '--job',
      'sum_sales',
      '--job',
      'Build_Report',
    ]);
    expect(run.code).toBe(0);
    const lines = commandsOf(run.stdout);
    const trigger = lines.find((argv) =>
      startsWith(argv, ['gcloud', 'functions', 'deploy', 'e11-on-job-written']),
    );
    expect(trigger).toEqual(
      expect.arrayContaining([
        '--trigger-location=eur3',
        '--trigger-event-filters=database=acme-jobs',
        '--trigger-event-filters-path-pattern=document=acme_orchestrations/{orchestrationId}/jobs/{jobId}',
        '--update-env-vars=GOOGLE_CLOUD_PROJECT=demo-proj,E11_REGION=europe-west1,E11_TOPIC=acme-done,E11_COLLECTION_PREFIX=acme_,E11_FIRESTORE_DATABASE=acme-jobs',
      ]),
    );
    expect(lines.map((argv) => argv.slice(0, 5).join(' '))).toEqual(
      expect.arrayContaining([
        'gcloud run jobs deploy sum-sales',
        'gcloud run jobs deploy build-report',
        'gcloud pubsub topics create acme-done',
        'node deploy/stage-firestore.mjs --prefix=acme_ --database=acme-jobs deploy/.build/firestore',
      ]),
    );
    expect(bindingsOf(lines).filter((b) => b.startsWith('run-job build-report'))).toHaveLength(2);
    expect(run.stdout).not.toContain('e11_orchestrations');
    expect(run.stdout).not.toContain('e11-jobs');
    for (const argv of lines.filter((a) => startsWith(a, ['gcloud', 'projects', 'add-iam-policy-binding']))) {
      if (flag(argv, '--role')?.startsWith('roles/datastore.')) {
        expect(conditionOf(argv)).toBe('resource.name=="projects/demo-proj/databases/acme-jobs"');
      }
    }
  });
  it('stages --pipelines-module with the functions and points every function at it', async () => {
    const run = await deployScript([
      '--dry-run',
      ...ARGS,
      '--pipelines-module',
      'examples/dist/pipelines.js',
    ]);
    expect(run.code).toBe(0);
    const lines = commandsOf(run.stdout);
    expect(lines.map((argv) => argv.join(' '))).toContain(
      'node deploy/stage-functions.mjs deploy/.build/functions --pipelines=examples/dist/pipelines.js',
    );
    const functions = lines.filter((argv) => startsWith(argv, ['gcloud', 'functions', 'deploy']));
    expect(functions).toHaveLength(3);
    for (const argv of functions) {
      expect(flag(argv, '--update-env-vars')).toMatch(/,E11_PIPELINES_MODULE=\.\/pipelines\.js$/);
    }
    const missing = await deployScript(['--dry-run', ...ARGS, '--pipelines-module', 'no/such/pipelines.js']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("--pipelines-module 'no/such/pipelines.js' is not a file");
  });
});

describe('deploy/deploy.sh for real (with stand-in tools)', () => {
  it('runs exactly the commands the dry run prints, creating what is missing', async () => {
    const run = await deployScript(ARGS);
    expect(run.code).toBe(0);
    const probes = run.calls.filter((argv) => argv.includes('describe'));
    const changes = run.calls.filter((argv) => !argv.includes('describe'));
    const realUri = 'https://e11-sweep-fake.a.run.app';
    const printedUri = flag(find(['gcloud', 'scheduler', 'jobs', 'create']), '--uri');
    expect(changes).toEqual(
      commands.map((argv) =>
        argv.map((word) => (printedUri === undefined ? word : word.replace(printedUri, realUri))),
      ),
    );
    // It looked before creating: the database, the topic, each account and the scheduler job.
    expect(probes.map((argv) => argv.slice(0, 4).join(' '))).toEqual(
      expect.arrayContaining([
        'gcloud firestore databases describe',
        'gcloud pubsub topics describe',
        'gcloud iam service-accounts describe',
        'gcloud iam roles describe',
        'gcloud scheduler jobs describe',
      ]),
    );
  });

  it('creates nothing that already exists and updates the scheduler job on a second run', async () => {
    const run = await deployScript(ARGS, { E11_FAKE_EXISTING: '1' });
    expect(run.code).toBe(0);
    const verbs = run.calls.map((argv) => argv.slice(0, 5).join(' '));
    expect(verbs.filter((v) => / create\b/.test(v))).toEqual([]);
    expect(verbs).toContain('gcloud scheduler jobs update http');
    // Deploys and bindings are upserts: they run again.
    expect(verbs).toContain('gcloud run jobs deploy sum-sales');
    expect(verbs.filter((v) => v.includes('add-iam-policy-binding'))).toHaveLength(10);
  });
});

describe('deploy/deploy.sh with bad arguments', () => {
  it.each([
    [['--region', 'europe-west1', '--image', 'img'], /^deploy\.sh: --project is required: .*\n$/],
    [
      [...ARGS.slice(0, 2), '--region', 'Europe West', '--image', 'i'],
      /^deploy\.sh: --region 'Europe West' is not/,
    ],
    [[...ARGS, '--prefix', 'e11.'], /^deploy\.sh: --prefix 'e11\.' must be up to 40 letters/],
    [[...ARGS, '--project', 'Demo_Proj'], /^deploy\.sh: --project 'Demo_Proj' is not a project id/],
    [[...ARGS, '--job', '9lives'], /^deploy\.sh: --job '9lives' is not a job name/],
    [[...ARGS, '--topic', 'goog-x'], /^deploy\.sh: --topic 'goog-x' is not a Pub\/Sub topic id/],
    [[...ARGS, '--colour', 'blue'], /^deploy\.sh: unknown option '--colour'/],
    [[...ARGS, '--database', 'E11'], /^deploy\.sh: --database 'E11' is not a Firestore database id/],
    [[...ARGS, '--database', 'e11'], /^deploy\.sh: --database 'e11' is not a Firestore database id/],
    [[...ARGS, '--image'], /^deploy\.sh: --image needs a value/],
  ])('%j fails with one line saying what is wrong, before running anything', async (args, message) => {
    const run = await deployScript(['--dry-run', ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toBe('');
    expect(run.calls).toEqual([]);
  });
});
