// Preloaded (`node --import`) into firebase-tools by startGoogleEmulators: the parent holds the child's
// stdin open, so when the parent dies — even by SIGKILL, when no exit handler runs — stdin ends. Then
// firebase-tools gets a SIGINT, its own signal for a clean shutdown, and whatever it started that is
// still alive when it exits (the Pub/Sub emulator runs under a shell firebase-tools kills, not Java
// itself) is killed. No emulator survives a killed test run, demo or benchmark.
import { descendants, killAll } from './process-tree.js';

const stop = () => {
  const started = descendants(process.pid);
  process.once('exit', () => killAll(started, 'SIGKILL'));
  process.kill(process.pid, 'SIGINT');
};
process.stdin.once('end', stop);
process.stdin.once('error', stop);
process.stdin.resume();
process.stdin.unref?.();
