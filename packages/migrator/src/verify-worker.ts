// A thread verify works out chains on, so the LevelDB scan and the comparison run beside that work:
// each request is one task (a chain to compare, or a chain's file to read ahead), answered with its
// verdict (chain-verdict.ts).
import { parentPort } from 'node:worker_threads';
import { runVerdictTask, type VerdictTask } from './chain-verdict.js';

// Settled once the task before is worked out: the pool sends the next task while one runs (so this
// thread never waits for the calling thread to hand it one), and it starts only then. Two at once
// would hold two files' texts and parses (the verify process's peak RSS was 50-60 MiB higher at 100k records).
let previous: Promise<unknown> = Promise.resolve();

parentPort?.on('message', (request: { id: number; task: VerdictTask }) => {
  const worked = previous.then(() => runVerdictTask(request.task));
  // An answer that cannot be sent is an unhandled rejection, which ends this thread: the pool then runs its jobs itself.
  void worked.then(
    (verdict) => parentPort?.postMessage({ id: request.id, verdict }),
    (error: unknown) => parentPort?.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
  );
  previous = worked.then(
    () => undefined,
    () => undefined,
  );
});
