// Preloaded (`node --import`) into the child processes the stack starts, e.g. the Functions
// Framework server: the parent holds the child's stdin open, so when the parent dies — even by
// SIGKILL, when no exit handler runs — stdin ends and the child exits too. No orphan survives a
// crashed test run or a killed `npm run demo`.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
// Nothing else should keep the process alive on our account: the server it runs does that.
process.stdin.unref?.();
