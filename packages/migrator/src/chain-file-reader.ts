// Where verify's network files are parsed: on a worker thread when the built worker is beside this
// module (the package as installed), else on this thread. The work and its result are the same
// either way (chainFileFacts); a worker that fails hands its requests back to this thread.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { chainFileFacts, type ChainFileFacts } from './chain-file-facts.js';

export interface ChainFileReader {
  /** Whether reads run beside this thread (then reading ahead overlaps the comparison). */
  readonly parallel: boolean;
  read(file: string, chainId: number): Promise<ChainFileFacts>;
  close(): Promise<void>;
}

const inThread: ChainFileReader = {
  parallel: false,
  read: chainFileFacts,
  close: async () => undefined,
};

type Pending = { file: string; chainId: number; resolve: (facts: ChainFileFacts) => void; reject: (error: unknown) => void };

/** Requests answered in order by one worker thread; on any failure of the thread, by this one. */
class WorkerReader implements ChainFileReader {
  readonly parallel = true;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed = false;

  constructor(private readonly worker: Worker) {
    worker.on('message', (reply: { id: number; facts?: ChainFileFacts; error?: string }) => {
      const request = this.pending.get(reply.id);
      if (!request) return;
      this.pending.delete(reply.id);
      // A file the worker could not read is read here, so what goes wrong is reported as the store reports it.
      if (reply.facts) request.resolve(reply.facts);
      else this.here(request);
    });
    worker.on('error', () => this.fail());
    worker.on('exit', () => this.fail());
  }

  read(file: string, chainId: number): Promise<ChainFileFacts> {
    return new Promise((resolve, reject) => {
      const request = { file, chainId, resolve, reject };
      if (this.failed) return this.here(request);
      const id = this.nextId++;
      this.pending.set(id, request);
      this.worker.postMessage({ id, file, chainId });
    });
  }

  async close(): Promise<void> {
    this.failed = true;
    await this.worker.terminate();
  }

  private fail(): void {
    this.failed = true;
    const requests = [...this.pending.values()];
    this.pending.clear();
    for (const request of requests) this.here(request);
  }

  private here(request: Pending): void {
    chainFileFacts(request.file, request.chainId).then(request.resolve, request.reject);
  }
}

const WORKER_FILE = fileURLToPath(new URL('./verify-worker.js', import.meta.url));

/** A reader on a worker thread when the built worker is there (`threads: false` forces this thread). */
export function chainFileReader(options: { threads?: boolean } = {}): ChainFileReader {
  if (options.threads === false || !existsSync(WORKER_FILE)) return inThread;
  try {
    return new WorkerReader(new Worker(WORKER_FILE));
  } catch {
    return inThread;
  }
}
