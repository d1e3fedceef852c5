// Where verify reads each chain's file and works out a chain's verdict (chain-verdict.ts): on worker threads when the built
// worker is beside this module (the package as installed), else on this thread. The work and its
// result are the same either way; a worker that fails hands its jobs back to this thread.
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { chainVerdict, fileVerdict, runVerdictTask, type ChainJob, type ChainVerdict, type FileJob, type FileVerdict, type VerdictTask } from './chain-verdict.js';

export interface VerdictPool {
  /** How many worker threads it may run jobs on beside this thread (0: every job runs on it). */
  readonly threads: number;
  /** Jobs run so far on this thread and sent to worker threads. */
  readonly ran: { here: number; threads: number };
  /** Whether worker threads were started (by a large job, or by `prepare`). */
  readonly started: boolean;
  run(job: ChainJob): Promise<ChainVerdict>;
  /** A chain's file read, parsed and printed ahead of its LevelDB values (walkChain takes it), where run would send the chain. */
  file(job: FileJob): Promise<FileVerdict>;
  /**
   * Starts the worker threads now when one of these state files is large enough that its chain
   * will go to them, so they load while LevelDB is being snapshotted and scanned.
   */
  prepare(files: readonly string[]): void;
  /** No more jobs will come: this thread may take the one job left waiting for a busy worker (see WorkerPool). */
  finish(): void;
  close(): Promise<void>;
}

/** Every job on this thread. */
function inThread(): VerdictPool {
  const ran = { here: 0, threads: 0 };
  return {
    threads: 0,
    ran,
    started: false,
    run: (job) => {
      ran.here++;
      return chainVerdict(job);
    },
    file: (job) => {
      ran.here++;
      return fileVerdict(job);
    },
    prepare: () => undefined,
    finish: () => undefined,
    close: async () => undefined,
  };
}

type Answer = ChainVerdict | FileVerdict;
type Pending = { task: VerdictTask; resolve: (verdict: Answer) => void; reject: (error: unknown) => void };

/** Jobs answered in order by one worker thread; on any failure of the thread, by this one. */
class WorkerRunner {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed = false;

  constructor(private readonly worker: Worker) {
    worker.on('message', (reply: { id: number; verdict?: Answer; error?: string }) => {
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

  run(task: VerdictTask): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const request = { task, resolve, reject };
      if (this.failed) return here(request);
      const id = this.nextId++;
      this.pending.set(id, request);
      this.worker.postMessage({ id, task });
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
  runVerdictTask(request.task).then(request.resolve, request.reject);
}

/**
 * The workers take jobs from one queue, each the next job once it has answered its last: a chain
 * larger than the others then delays only its own worker, never a job queued behind it. While every
 * worker is busy, this thread takes the last job waiting, one at a time, from the first job on: it
 * is a core too. Taking jobs only once the scan was done left it idle for most of verify: the scan
 * reads ahead of the comparison by a few chains only, so it ended when all but the last chain were
 * compared, and at 100k records in five chains one worker ran four of them while this thread waited
 * (its CPU profile: idle 1.2 s of a 2.95 s verify). Until the scan is done it leaves one job waiting
 * for the workers: the scan runs on this thread, so while this thread works out a chain no new job
 * comes, and a worker that found the queue empty sat idle (0.3-0.45 s each time, in the profile).
 */
class WorkerPool {
  private readonly queue: Pending[] = [];
  private readonly idle: WorkerRunner[];
  // Whether this thread is running a job it took.
  private hereBusy = false;
  // Set by finish(): no more jobs will come, so none is left waiting for the workers.
  private finished = false;

  /** `onTaken`: called for each job this thread takes from the queue. */
  constructor(
    private readonly runners: WorkerRunner[],
    private readonly onTaken: () => void,
  ) {
    this.idle = [...runners];
  }

  run(task: VerdictTask): Promise<Answer> {
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.next();
    });
  }

  finish(): void {
    this.finished = true;
    this.next();
  }

  private next(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const runner = this.idle.shift() as WorkerRunner;
      const request = this.queue.shift() as Pending;
      runner.run(request.task).then(request.resolve, request.reject).finally(() => {
        this.idle.push(runner);
        this.next();
      });
    }
    // This thread takes the last job waiting while every worker is busy, one at a time (a chain it
    // runs holds it until done): the workers take the others from the front as they come free, and
    // the comparison, which takes verdicts in order, needs the front ones first.
    if (!this.hereBusy && this.queue.length > (this.finished ? 0 : 1) && this.idle.length === 0) {
      const request = this.queue.pop() as Pending;
      this.onTaken();
      this.hereBusy = true;
      runVerdictTask(request.task)
        .then(request.resolve, request.reject)
        .finally(() => {
          this.hereBusy = false;
          this.next();
        });
    }
  }

  async close(): Promise<void> {
    const dropped = this.queue.splice(0);
    for (const request of dropped) request.reject(new Error('verify ended before this chain was compared'));
    await Promise.all(this.runners.map((runner) => runner.close()));
  }
}

const WORKER_FILE = fileURLToPath(new URL('./verify-worker.js', import.meta.url));

/**
 * A worker's young generation, MiB. V8's default (32 MiB of semi-spaces on 64-bit) is held by each
 * thread for the whole verify; most of what a chain allocates lives as long as the chain anyway.
 * At 100k records (five files of 12 MiB), three alternating runs: 4 MiB took the verify process's
 * peak RSS from 541-547 to 438-450 MiB, in 2.56-2.83 s against 2.58-3.06 s (8 MiB: 489-497 MiB).
 */
const WORKER_YOUNG_MB = 4;

/**
 * A chain worth a worker thread: about this many records. A thread takes 0.1-0.2 s to start and
 * warm up, about what 4,000 records take on this thread (in the bench at 10k records, in chains of
 * 2,000, verify took 0.47-0.65 s on threads and 0.34 s without them).
 */
export const THREAD_WORTHY_RECORDS = 4000;

// A network file holds a record in about this many bytes or more (a file-only chain's size).
const BYTES_PER_RECORD = 512;

/** About how many records a state file holds, from its size (0 when there is none). */
function recordsIn(file: string | undefined): number {
  return file === undefined ? 0 : (statSync(file, { throwIfNoEntry: false })?.size ?? 0) / BYTES_PER_RECORD;
}

/** About how many records the task compares: a chain's LevelDB values or its file's size in records, whichever is more. */
function recordsOf(task: VerdictTask): number {
  return 'chain' in task ? Math.max(task.chain.names.length, recordsIn(task.chain.file)) : recordsIn(task.file.file);
}

/**
 * Small chains run on this thread (a store of a few hundred records never starts a thread); the
 * first large one starts the workers, and every large one goes to their queue, so this thread
 * stays free to scan and compare. A worker that fails hands its jobs back to this thread.
 */
class AdaptivePool implements VerdictPool {
  readonly ran = { here: 0, threads: 0 };
  private workers: WorkerPool | undefined;
  private threadsStarted = false;

  constructor(
    readonly threads: number,
    private readonly threadWorthy: number,
  ) {}

  run(job: ChainJob): Promise<ChainVerdict> {
    return this.runTask({ chain: job }) as Promise<ChainVerdict>;
  }

  file(job: FileJob): Promise<FileVerdict> {
    return this.runTask({ file: job }) as Promise<FileVerdict>;
  }

  private runTask(task: VerdictTask): Promise<Answer> {
    if (recordsOf(task) >= this.threadWorthy) {
      this.startOnce();
      if (this.workers) {
        this.ran.threads++;
        return this.workers.run(task);
      }
    }
    this.ran.here++;
    return runVerdictTask(task);
  }

  prepare(files: readonly string[]): void {
    if (files.some((file) => recordsIn(file) >= this.threadWorthy)) this.startOnce();
  }

  finish(): void {
    this.workers?.finish();
  }

  async close(): Promise<void> {
    await this.workers?.close();
  }

  get started(): boolean {
    return this.threadsStarted;
  }

  private startOnce(): void {
    if (this.threadsStarted) return;
    this.threadsStarted = true;
    this.workers = this.start();
  }

  /** The workers, started now; undefined when a thread cannot be started (every job then runs here). */
  private start(): WorkerPool | undefined {
    const runners: WorkerRunner[] = [];
    try {
      for (let i = 0; i < this.threads; i++) runners.push(new WorkerRunner(new Worker(WORKER_FILE, { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } })));
    } catch {
      for (const runner of runners) void runner.close();
      return undefined;
    }
    return new WorkerPool(runners, () => {
      this.ran.threads--;
      this.ran.here++;
    });
  }
}

/**
 * Worker threads by default: one per core beside this thread's, at most two (none on one core).
 * This thread takes chains too while the workers are busy (WorkerPool), so it counts as one. Each thread
 * loads the modules and warms up anew: a fresh thread's first chain of 20k records took about
 * 390 ms of CPU, its next ones about 255. On 2 cores, one worker beside this thread against two
 * (100k records in five files, alternating runs on a loaded machine): verify 2.24-2.29 s of CPU
 * against 2.49-2.61 s, 3.8-4.7 s against 4.4-6.0 s of wall time. Earlier, a third worker on 2
 * cores cost more than it saved too.
 */
const DEFAULT_THREADS = Math.min(2, availableParallelism() - 1);

/**
 * Where verify works out each chain's verdict. With the built worker beside this module (the
 * package as installed) and `threads` above 0 (default: DEFAULT_THREADS), large chains
 * go to worker threads (AdaptivePool; `threadWorthy`: the records that make a chain large); else
 * every chain runs on this thread, with the same result.
 */
export function verdictPool(options: { threads?: number; threadWorthy?: number } = {}): VerdictPool {
  const threads = options.threads ?? DEFAULT_THREADS;
  if (threads === 0 || !existsSync(WORKER_FILE)) return inThread();
  return new AdaptivePool(threads, options.threadWorthy ?? THREAD_WORTHY_RECORDS);
}
