// The thread verify parses network files on, so the LevelDB scan and the comparison run beside the
// parse: each request is one chain's file, answered with its facts (chain-file-facts.ts).
import { parentPort } from 'node:worker_threads';
import { chainFileFacts } from './chain-file-facts.js';

parentPort?.on('message', (request: { id: number; file: string; chainId: number }) => {
  chainFileFacts(request.file, request.chainId).then(
    (facts) => parentPort?.postMessage({ id: request.id, facts }),
    (error: unknown) => parentPort?.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
