// A thread verify works out chains on, so the LevelDB scan and the comparison run beside that work:
// each request is one task (a chain to compare, or a chain's file to read ahead), answered with its
// verdict (chain-verdict.ts).
import { parentPort } from 'node:worker_threads';
import { runVerdictTask, type VerdictTask } from './chain-verdict.js';

parentPort?.on('message', (request: { id: number; task: VerdictTask }) => {
  runVerdictTask(request.task).then(
    (verdict) => parentPort?.postMessage({ id: request.id, verdict }),
    (error: unknown) => parentPort?.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
