// Child process entry: runs Migration.migrate() on an already seeded folder and prints its memory
// as one JSON line, so the copy's footprint is measured alone. The copy holds one chain at a time,
// so its growth should follow the largest network file, not the store. Run with --expose-gc.
//
// Two modes, one per process, since one disturbs the other:
// - `sampled`: heap used sampled every 2 ms, garbage included. How high it gets depends on when V8
//   chooses to collect, which grows with how much was allocated, not only with what is kept.
// - `live`: a full collection forced every 20 ms (between the copy's awaits), then heap used read:
//   what the copy keeps alive at that moment. Its peak is the bound the copy promises.
import { loadMigrator } from './loaders.js';

export interface MigrationMemoryTask {
  cwd: string;
  mode?: 'sampled' | 'live';
}

export interface MigrationMemoryResult {
  mode: 'sampled' | 'live';
  /** Peak resident set size of the process (the kernel's high-water mark), bytes. */
  peakRssBytes: number;
  /** RSS just before migrate(), bytes. */
  rssBeforeBytes: number;
  /** Highest heap used seen while migrate() ran (sampled: garbage included; live: after forced collections), bytes. */
  peakHeapUsedBytes: number;
  /** Heap used before migrate(), after a forced GC, bytes. */
  heapBeforeBytes: number;
  /** How many samples the peak was taken from. */
  samples: number;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as MigrationMemoryTask;
  const mode = task.mode ?? 'sampled';
  const migrator = await loadMigrator();
  if (!migrator.ok) throw new Error(migrator.reason);
  const migration = await migrator.value.open({ cwd: task.cwd });
  await migration.enableDualWrite();
  collect();
  collect();
  const rssBeforeBytes = process.memoryUsage().rss;
  const heapBeforeBytes = process.memoryUsage().heapUsed;
  let peakHeapUsedBytes = heapBeforeBytes;
  let samples = 0;
  const sample = (): void => {
    if (mode === 'live') collect();
    samples++;
    peakHeapUsedBytes = Math.max(peakHeapUsedBytes, process.memoryUsage().heapUsed);
  };
  const timer = setInterval(sample, mode === 'live' ? 20 : 2);
  try {
    await migration.migrate();
  } finally {
    clearInterval(timer);
    if (mode === 'sampled') sample();
    await migration.close?.();
  }
  const result: MigrationMemoryResult = {
    mode,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    rssBeforeBytes,
    peakHeapUsedBytes,
    heapBeforeBytes,
    samples,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
