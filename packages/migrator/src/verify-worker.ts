// A thread verify compares chains on, so the LevelDB scan and the comparison run beside the work of
// each chain: each request is one chain's job, answered with its verdict (chain-verdict.ts).
import { parentPort } from 'node:worker_threads';
import { chainVerdict, type ChainJob } from './chain-verdict.js';

parentPort?.on('message', (request: { id: number; job: ChainJob }) => {
  chainVerdict(request.job).then(
    (verdict) => parentPort?.postMessage({ id: request.id, verdict }),
    (error: unknown) => parentPort?.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
  );
});

// Its modules are loaded: jobs sent from now on start at once.
parentPort?.postMessage({ ready: true });
