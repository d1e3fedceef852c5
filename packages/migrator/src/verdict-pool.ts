// Where verify works out each chain's verdict (chain-verdict.ts): on worker threads when the built
// worker is beside this module (the package as installed), else on this thread. The work and its
// result are the same either way; a worker that fails hands its jobs back to this thread.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { chainVerdict, type ChainJob, type ChainVerdict } from './chain-verdict.js';

export interface VerdictPool {
  /** How many jobs run at once beside this thread (0: they run on it). */
  readonly threads: number;
  run(job: ChainJob): Promise<ChainVerdict>;
  close(): Promise<void>;
}

const inThread: VerdictPool = {
  threads: 0,
  run: chainVerdict,
  close: async () => undefined,
};

type Pending = { job: ChainJob; resolve: (verdict: ChainVerdict) => void; reject: (error: unknown) => void };

/** Jobs answered in order by one worker thread; on any failure of the thread, by this one. */
class WorkerRunner {
  readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed = false;

  constructor(private readonly worker: Worker) {
    worker.on('message', (reply: { id: number; verdict?: ChainVerdict; error?: string }) => {
      const request = this.pending.get(reply.id);
      if (!request) return;
      this.pending.delete(reply.id);
      // A job the worker could not finish runs here, so what goes wrong is reported as on this thread.
      if (reply.verdict) request.resolve(reply.verdict);
      else here(request);
    });
    worker.on('error', () => this.fail());
    worker.on('exit', () => this.fail());
  }

  run(job: ChainJob): Promise<ChainVerdict> {
    return new Promise((resolve, reject) => {
      const request = { job, resolve, reject };
      if (this.failed) return here(request);
      const id = this.nextId++;
      this.pending.set(id, request);
      this.worker.postMessage({ id, job });
    });
  }

  /** Ends the thread; a job it had not answered is dropped (the comparison that asked has ended), not run here. */
  async close(): Promise<void> {
    this.failed = true;
    const dropped = [...this.pending.values()];
    this.pending.clear();
    for (const request of dropped) request.reject(new Error('verify ended before this chain was compared'));
    await this.worker.terminate();
  }

  private fail(): void {
    this.failed = true;
    const requests = [...this.pending.values()];
    this.pending.clear();
    for (const request of requests) here(request);
  }
}

function here(request: Pending): void {
  chainVerdict(request.job).then(request.resolve, request.reject);
}

/** Each job to the worker with the fewest jobs waiting. */
class WorkerPool implements VerdictPool {
  constructor(private readonly runners: WorkerRunner[]) {}

  get threads(): number {
    return this.runners.length;
  }

  run(job: ChainJob): Promise<ChainVerdict> {
    let least = this.runners[0] as WorkerRunner;
    for (const runner of this.runners) if (runner.pending.size < least.pending.size) least = runner;
    return least.run(job);
  }

  async close(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.close()));
  }
}

const WORKER_FILE = fileURLToPath(new URL('./verify-worker.js', import.meta.url));

/**
 * Worker threads when the built worker is there (`threads: 0` forces this thread): one per core, at
 * most two. The calling thread's share (the scan, the comparison's bookkeeping) is light, so two
 * workers keep 2 cores busy, and a chain's uneven size is evened out by the next chain's job.
 */
export function verdictPool(options: { threads?: number } = {}): VerdictPool {
  const threads = options.threads ?? Math.min(2, availableParallelism());
  if (threads === 0 || !existsSync(WORKER_FILE)) return inThread;
  const runners: WorkerRunner[] = [];
  try {
    for (let i = 0; i < threads; i++) runners.push(new WorkerRunner(new Worker(WORKER_FILE)));
  } catch {
    for (const runner of runners) void runner.close();
    return inThread;
  }
  return new WorkerPool(runners);
}
