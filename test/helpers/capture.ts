import { Writable } from 'node:stream';

/** A writable that keeps what was written, for running CLI commands in-process. */
export class Capture extends Writable {
  text = '';
  private waiters: (() => void)[] = [];

  constructor(readonly isTTY = false) {
    super();
  }

  override _write(
    chunk: Buffer | string,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.text += chunk.toString();
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    callback();
  }

  /** The lines written so far (without the empty one after the last newline). */
  get lines(): string[] {
    return this.text.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1);
  }

  /** Resolves once the output matches `pattern`. */
  async waitFor(pattern: RegExp): Promise<void> {
    while (!pattern.test(this.text)) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

/** Fresh stdout/stderr captures (stderr optionally pretending to be a terminal). */
export function captureIo(
  options: { tty?: boolean; signal?: AbortSignal; env?: Record<string, string> } = {},
) {
  return {
    stdout: new Capture(),
    stderr: new Capture(options.tty ?? false),
    signal: options.signal,
    env: options.env ?? {},
  };
}
