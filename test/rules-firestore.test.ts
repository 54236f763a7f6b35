import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { createFirestore } from '@e11/core';
import {
  assertFails,
  assertSucceeds,
  initializeTestEnvironment,
  type RulesTestEnvironment,
} from '@firebase/rules-unit-testing';
import { deleteApp, initializeApp } from 'firebase/app';
import {
  collection,
  connectFirestoreEmulator,
  doc,
  getDoc,
  getDocs,
  getFirestore,
  setDoc,
  terminate,
  updateDoc,
} from 'firebase/firestore';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';

import { testProjectId } from './helpers/project.js';

/**
 * The repository's firestore.rules on the Firestore emulator, through the Firebase web SDK as a browser
 * or mobile app would use it: E11 Jobs' collections are closed to every client, signed in or not; the
 * server-side clients (service credentials, as the SDK, runner and functions use) are not subject to
 * rules. The rules are also checked merged into an app's own rules, as docs/production.md recommends.
 */
const RULES = readFileSync(fileURLToPath(new URL('../firestore.rules', import.meta.url)), 'utf8');
const [host = '', port = ''] = inject('firestoreHost').split(':');

/** An app's rules with E11's merged in: a wildcard for signed-in users, guarded as the rules file says. */
const MERGED = RULES.replace(
  /\n {2}}\n}\s*$/,
  `
    match /{collection}/{document=**} {
      allow read, write: if request.auth != null && !isE11Collection(collection);
    }
  }
}
`,
);

const E11_DOCUMENTS = [
  'e11_orchestrations/o1',
  'e11_orchestrations/o1/jobs/j1',
  'e11_orchestrations/o1/counters/c0',
  'e11_orchestrations/o1/completions/1',
  'e11_schedules/nightly',
  'e11_schedules/nightly/runs/r1',
  'e11_pipelines/p1',
  'e11_maintenance/sweeper',
  'e11_maintenance/concurrency:acme:exports/slots/o1:0',
];

async function environment(name: string, rules: string): Promise<RulesTestEnvironment> {
  const env = await initializeTestEnvironment({
    projectId: testProjectId(name),
    firestore: { host, port: Number(port), rules },
  });
  // Seed every E11 document with rules off, so a denied read is a denial and not a missing document.
  await env.withSecurityRulesDisabled(async (context) => {
    for (const path of E11_DOCUMENTS) await setDoc(doc(context.firestore(), path), { status: 'Pending' });
  });
  return env;
}

describe('firestore.rules', () => {
  let env: RulesTestEnvironment;
  let merged: RulesTestEnvironment;

  beforeAll(async () => {
    env = await environment('rules', RULES);
    merged = await environment('rules-merged', MERGED);
  });

  afterAll(async () => {
    await env.cleanup();
    await merged.cleanup();
  });

  it.each(E11_DOCUMENTS)('denies every client access to %s, signed in or not', async (path) => {
    for (const context of [env.unauthenticatedContext(), env.authenticatedContext('alice')]) {
      const db = context.firestore();
      await assertFails(getDoc(doc(db, path)));
      await assertFails(setDoc(doc(db, path), { status: 'Completed' }));
      await assertFails(updateDoc(doc(db, path), { status: 'Completed' }));
    }
  });

  it('denies listing the E11 collections and sub-collections', async () => {
    const db = env.authenticatedContext('alice', { admin: true }).firestore();
    await assertFails(getDocs(collection(db, 'e11_orchestrations')));
    await assertFails(getDocs(collection(db, 'e11_orchestrations/o1/jobs')));
    await assertFails(getDocs(collection(db, 'e11_schedules')));
    await assertFails(getDocs(collection(db, 'e11_pipelines')));
    await assertFails(getDocs(collection(db, 'e11_maintenance')));
  });

  it("keeps E11's collections closed when merged into an app's wildcard rule, which still works", async () => {
    expect(MERGED).toContain('!isE11Collection(collection)');
    const alice = merged.authenticatedContext('alice').firestore();
    // The app's own collection is open to signed-in users by the app's rule...
    await assertSucceeds(setDoc(doc(alice, 'orders/1'), { total: 3 }));
    await assertSucceeds(getDoc(doc(alice, 'orders/1')));
    await assertFails(getDoc(doc(merged.unauthenticatedContext().firestore(), 'orders/1')));
    // ...while E11's stay closed.
    for (const path of E11_DOCUMENTS) {
      await assertFails(getDoc(doc(alice, path)));
      await assertFails(setDoc(doc(alice, path), { status: 'Completed' }));
    }
  });

  it("keeps E11's collections closed in a named database (deploy.sh's --database), merged rules too", async () => {
    const database = 'e11-jobs';
    const server = createFirestore({
      projectId: merged.projectId,
      emulatorHost: inject('firestoreHost'),
      databaseId: database,
    });
    // The emulator keeps rules per database (measured: the project-wide PUT that initializeTestEnvironment
    // makes sets `(default)` only, and a database without rules denies every client): load them as
    // `firebase deploy` does for the database deploy.sh names.
    const response = await fetch(
      `http://${host}:${port}/emulator/v1/projects/${merged.projectId}/databases/${database}:securityRules`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rules: { files: [{ name: 'firestore.rules', content: MERGED }] } }),
      },
    );
    expect(response.status).toBe(200);
    const app = initializeApp({ projectId: merged.projectId }, `named-${merged.projectId}`);
    const alice = getFirestore(app, database);
    connectFirestoreEmulator(alice, host, Number(port), { mockUserToken: { sub: 'alice' } });
    try {
      // Seeded by the server client (rules do not apply to it), so a denial is not a missing document.
      for (const path of E11_DOCUMENTS) await server.doc(path).set({ status: 'Pending' });
      // The client does reach the named database, and the rules are evaluated there: the app's part opens.
      await assertSucceeds(setDoc(doc(alice, 'orders/1'), { total: 3 }));
      await assertSucceeds(getDoc(doc(alice, 'orders/1')));
      for (const path of E11_DOCUMENTS) {
        await assertFails(getDoc(doc(alice, path)));
        await assertFails(setDoc(doc(alice, path), { status: 'Completed' }));
      }
      await assertFails(getDocs(collection(alice, 'e11_orchestrations/o1/jobs')));
    } finally {
      await terminate(alice);
      await deleteApp(app);
      await server.terminate();
    }
  });

  it('does not apply to the server-side client the SDK uses', async () => {
    const firestore = createFirestore({ projectId: env.projectId, emulatorHost: inject('firestoreHost') });
    try {
      const snapshot = await firestore.doc('e11_orchestrations/o1/jobs/j1').get();
      expect(snapshot.get('status')).toBe('Pending');
      await firestore.doc('e11_orchestrations/o1/jobs/j1').update({ status: 'Completed' });
      expect((await firestore.doc('e11_orchestrations/o1/jobs/j1').get()).get('status')).toBe('Completed');
    } finally {
      await firestore.terminate();
    }
  });
});
