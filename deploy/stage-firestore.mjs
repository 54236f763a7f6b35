// Writes the Firestore rules and indexes deploy/deploy.sh deploys, for one collection prefix:
//
//   node deploy/stage-firestore.mjs --prefix=e11_ [--database=e11-jobs] <out-dir>
//
// <out-dir> gets firebase.json, firestore.rules and firestore.indexes.json — the repository's files
// with the collections `e11_orchestrations`, `e11_schedules`, `e11_pipelines` and `e11_maintenance` renamed for the prefix — so that
// `firebase deploy --config <out-dir>/firebase.json` deploys exactly what the emulators and tests use,
// to the named database (firebase.json's `firestore.database`; `(default)` when not given).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { parseArgs } from 'node:util';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
// The SDK's rule for collection prefixes (packages/sdk/src/model/collections.ts).
const PREFIX_PATTERN = /^[A-Za-z0-9_-]{0,40}$/;
// Firestore's rule for database ids, or the default database.
const DATABASE_PATTERN = /^([a-z][a-z0-9-]{2,61}[a-z0-9]|\(default\))$/;
const COLLECTIONS = /\be11_(orchestrations|schedules|pipelines|maintenance)\b/g;

function fail(message) {
  process.stderr.write(`stage-firestore: ${message}\n`);
  process.exit(2);
}

const { values, positionals } = parseArgs({
  options: {
    prefix: { type: 'string', default: 'e11_' },
    database: { type: 'string', default: '(default)' },
  },
  allowPositionals: true,
});
const [outDir, ...extra] = positionals;
if (!outDir || extra.length > 0) {
  fail('usage: node deploy/stage-firestore.mjs --prefix=e11_ [--database=e11-jobs] <out-dir>');
}
const { prefix, database } = values;
if (!PREFIX_PATTERN.test(prefix)) fail(`--prefix '${prefix}' must be up to 40 letters, digits, '_' or '-'.`);
if (!DATABASE_PATTERN.test(database)) fail(`--database '${database}' is not a Firestore database id.`);

const rename = (text) => text.replace(COLLECTIONS, (_match, name) => `${prefix}${name}`);
const out = resolve(outDir);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'firestore.rules'), rename(readFileSync(join(REPO_ROOT, 'firestore.rules'), 'utf8')));
writeFileSync(
  join(out, 'firestore.indexes.json'),
  rename(readFileSync(join(REPO_ROOT, 'firestore.indexes.json'), 'utf8')),
);
writeFileSync(
  join(out, 'firebase.json'),
  `${JSON.stringify({ firestore: { database, rules: 'firestore.rules', indexes: 'firestore.indexes.json' } }, null, 2)}\n`,
);
process.stdout.write(
  `Staged Firestore rules and indexes for prefix '${prefix}' and database '${database}' in ${out}\n`,
);
