#!/usr/bin/env node
// The `e11` executable: runs the command line on the process's argv and streams, exits with its code.
import { runCli } from './program.js';

const controller = new AbortController();
let interrupts = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second Ctrl-C leaves at once.
    if (++interrupts > 1) process.exit(130);
    controller.abort();
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
  env: process.env,
});
// Every client was closed; should a library still hold a handle, leave anyway once output is flushed.
setTimeout(() => process.exit(), 2_000).unref();
