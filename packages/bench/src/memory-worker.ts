// Child process entry: measures one backend's process memory alone, so that the other backend's
// garbage and caches never count against it. Prints one JSON line (a MemoryMeasurement).
// Run with --expose-gc; without it the heap figure includes uncollected garbage.
import { collectGarbage, withTempDir, type MemoryTask } from './harness.js';
import { dataset, loadBackend, useProjectRecords, type BackendName } from './loaders.js';
import { readProjectRecords } from './project.js';
import type { MemoryMeasurement } from './results.js';

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as MemoryTask;
  const loaded = await loadBackend(task.backend as BackendName);
  if (!loaded.ok) throw new Error(loaded.reason);
  if (task.projectRoot !== undefined) useProjectRecords((await readProjectRecords(task.projectRoot)).records);
  const records = dataset(task.size);
  const measured = await withTempDir(`mem-${task.backend}`, async (dir) => {
    collectGarbage();
    const before = process.memoryUsage().rss;
    const store = loaded.value.create(dir, false);
    await store.open();
    // The workload an operator's scripts put on a store: load, point reads, lists, a query, a scan.
    await store.putMany(records);
    for (const r of records) await store.get(r.chainId, r.contractName);
    for (const chainId of new Set(records.map((r) => r.chainId))) await store.list(chainId);
    await store.query({ sortBy: 'timestamp', order: 'desc' });
    for await (const entry of store.iterate()) if (!entry) break;
    collectGarbage();
    const usage = process.memoryUsage();
    await store.close();
    return { rss: usage.rss, heapUsed: usage.heapUsed, delta: usage.rss - before };
  });
  const result: MemoryMeasurement = {
    suite: task.suite,
    subject: task.backend,
    size: task.size,
    rssBytes: measured.rss,
    heapUsedBytes: measured.heapUsed,
    rssDeltaBytes: measured.delta,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
