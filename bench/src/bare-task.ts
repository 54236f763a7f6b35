// The baseline of the runner-overhead benchmark: a bare Node process doing the same Firestore work a
// task needs at minimum — read its job document (params as JSON text, as E11 stores them), write its
// result — and nothing else.
import { Firestore } from '@google-cloud/firestore';

process.on('exit', () => process.stderr.write(`MAX_RSS_KB ${process.resourceUsage().maxRSS}\n`));
const [host, port] = (process.env.FIRESTORE_EMULATOR_HOST ?? '').split(':');
const firestore = new Firestore({
  projectId: process.env.GOOGLE_CLOUD_PROJECT,
  host,
  port: Number(port),
  ssl: false,
  customHeaders: { Authorization: 'Bearer owner' },
  universeDomain: 'googleapis.com',
});
const ref = firestore.doc(`${process.env.BARE_COLLECTION ?? 'bench_bare'}/${process.env.JOB_ID ?? 'none'}`);
const snapshot = await ref.get();
process.stderr.write(`RUN_ENTERED ${Date.now()}\n`);
const params = JSON.parse((snapshot.get('params') as string | undefined) ?? '{}') as { rows?: number };
let sum = 0;
for (let i = 0; i < (params.rows ?? 0); i++) sum += i % 7;
process.stderr.write(`RUN_RETURNED ${Date.now()}\n`);
await ref.update({ status: 'Completed', result: { sum } });
process.exit(0);
