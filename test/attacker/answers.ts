import { isE11Error } from '@e11/core';
import type { Firestore } from '@google-cloud/firestore';
import type { Observable } from 'rxjs';

/**
 * What one attempt got, as text: `outcome` is the answer's shape (compared with the answer about an
 * unknown id), `code` the error code if it failed, `bytes` everything it received (scanned).
 */
export interface Answer {
  outcome: string;
  code: string | null;
  bytes: string;
}

function errorCode(error: unknown): string {
  return isE11Error(error) ? error.code : `non-E11 ${(error as Error)?.name ?? typeof error}`;
}

/** Every byte of an error: name, code, message, context, cause, stack. */
function errorBytes(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { name, message, stack, cause } = error;
  return JSON.stringify({
    ...error,
    name,
    message,
    stack,
    cause: cause === undefined ? null : errorBytes(cause),
  });
}

/** A promise's answer: its value, or its error. */
export async function answerOf(run: () => unknown): Promise<Answer> {
  try {
    const value = JSON.stringify((await run()) ?? null);
    return { outcome: `value ${value}`, code: null, bytes: value };
  } catch (error) {
    const code = errorCode(error);
    const context = isE11Error(error) ? JSON.stringify(error.context) : '';
    return {
      outcome: `error ${code}: ${(error as Error)?.message ?? String(error)} ${context}`,
      code,
      bytes: errorBytes(error),
    };
  }
}

/**
 * An Observable's answer: every value it emitted, then how it ended (error, completion, or still open
 * at `deadlineMs`, which a refused subscription never is).
 */
export function observe(observable: Observable<unknown>, deadlineMs = 4_000): Promise<Answer> {
  return new Promise((resolve) => {
    const values: string[] = [];
    let answer: Answer | undefined;
    const finish = (end: string, code: string | null, bytes: string) => {
      if (answer) return;
      clearTimeout(timer);
      answer = {
        outcome: `${values.length} values, then ${end}`,
        code,
        bytes: [...values, bytes].join('\n'),
      };
      resolve(answer);
    };
    const timer = setTimeout(() => {
      finish('still open at the deadline', null, '');
      subscription.unsubscribe();
    }, deadlineMs);
    const subscription = observable.subscribe({
      next: (value) => {
        values.push(JSON.stringify(value));
      },
      complete: () => finish('complete', null, ''),
      error: (error: unknown) =>
        finish(
          `error ${errorCode(error)}: ${(error as Error)?.message ?? ''}`,
          errorCode(error),
          errorBytes(error),
        ),
    });
  });
}

/**
 * An HTTP answer: status and body. A body that is still streaming (an SSE stream that was let through)
 * is read until it ends or for `streamMs`, then the request is aborted.
 */
export async function httpAnswer(
  url: string,
  init: { method?: string; headers?: Record<string, string> } = {},
  streamMs = 2_000,
): Promise<Answer> {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, signal: controller.signal });
  const decoder = new TextDecoder();
  let body = '';
  const timer = setTimeout(() => controller.abort(), streamMs);
  try {
    if (response.body)
      for await (const chunk of response.body) body += decoder.decode(chunk as Uint8Array, { stream: true });
  } catch {
    // Aborted at the deadline: keep what arrived.
  } finally {
    clearTimeout(timer);
  }
  let code: string | null;
  try {
    code = (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? null;
  } catch {
    code = null;
  }
  return { outcome: `HTTP ${response.status} ${body}`, code, bytes: body };
}

/** Every document of the project (the admin client), as `{ path, data }`, sub-collections included. */
export async function dumpFirestore(firestore: Firestore): Promise<{ path: string; data: unknown }[]> {
  const out: { path: string; data: unknown }[] = [];
  const walk = async (collections: Awaited<ReturnType<Firestore['listCollections']>>) => {
    for (const collection of collections) {
      for (const ref of await collection.listDocuments()) {
        const snapshot = await ref.get();
        if (snapshot.exists) out.push({ path: ref.path, data: snapshot.data() });
        await walk(await ref.listCollections());
      }
    }
  };
  await walk(await firestore.listCollections());
  return out;
}
