// Child process entry: runs Migration.migrate() on an already seeded folder and prints its memory
// as one JSON line, so the copy's footprint is measured alone. The copy holds one chain at a time,
// so its growth should follow the largest network file, not the store. Run with --expose-gc.
import { loadMigrator } from './loaders.js';

export interface MigrationMemoryTask {
  cwd: string;
}

export interface MigrationMemoryResult {
  /** Peak resident set size of the process (the kernel's high-water mark), bytes. */
  peakRssBytes: number;
  /** RSS just before migrate(), bytes. */
  rssBeforeBytes: number;
  /** Highest V8 heap used seen while migrate() ran (sampled, garbage included), bytes. */
  peakHeapUsedBytes: number;
  /** Heap used before migrate(), after a forced GC, bytes. */
  heapBeforeBytes: number;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as MigrationMemoryTask;
  const migrator = await loadMigrator();
  if (!migrator.ok) throw new Error(migrator.reason);
  const migration = await migrator.value.open({ cwd: task.cwd });
  await migration.enableDualWrite();
  collect();
  const rssBeforeBytes = process.memoryUsage().rss;
  const heapBeforeBytes = process.memoryUsage().heapUsed;
  let peakHeapUsedBytes = heapBeforeBytes;
  const sample = (): void => {
    peakHeapUsedBytes = Math.max(peakHeapUsedBytes, process.memoryUsage().heapUsed);
  };
  const timer = setInterval(sample, 2);
  try {
    await migration.migrate();
  } finally {
    clearInterval(timer);
    sample();
    await migration.close?.();
  }
  const result: MigrationMemoryResult = { peakRssBytes: process.resourceUsage().maxRSS * 1024, rssBeforeBytes, peakHeapUsedBytes, heapBeforeBytes };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
