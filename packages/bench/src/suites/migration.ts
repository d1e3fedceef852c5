// Migration throughput: copy then verify (the migrator's own code) against the raw limit measured
// in the same run on the same records: a bare LevelDB scan plus one JSON write of everything.
import { createRequire } from 'node:module';
import { open, readdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generateRecords, parseLossless, stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import { LIMITS, makeGate } from '../gates.js';
import { makeTempDir, removeTempDir, roundOrder, runChild, timeOnce, toMeasurement } from '../harness.js';
import { dataset, loadBackend, loadMigrator, type BackendFactory, type MigratorApi } from '../loaders.js';
import type { MigrationMemoryResult } from '../migration-memory-worker.js';
import type { GateResult, Measurement, MemoryMeasurement } from '../results.js';
import { emptyOutcome, type SuiteContext, type SuiteOutcome } from './context.js';
import { networkDocuments } from './codec.js';

/** Sizes the migration suite runs: the asked sizes from 10k up (quick: one small size). */
export function migrationSizes(sizes: readonly number[], quick: boolean): number[] {
  return quick ? [1000] : sizes.filter((s) => s >= 10_000);
}

interface RawIterator {
  [Symbol.asyncIterator](): AsyncIterator<[string, string]>;
  close?(): Promise<void>;
}
interface RawLevel {
  open(): Promise<void>;
  close(): Promise<void>;
  iterator(options: { keyEncoding: string; valueEncoding: string }): RawIterator;
}
type LevelCtor = new (path: string, options: { valueEncoding: string; createIfMissing: boolean }) => RawLevel;

/** `level` as the LevelDB backend resolves it (the bench does not depend on it directly). */
function loadLevel(): LevelCtor {
  const require = createRequire(import.meta.resolve('@deploystate/backend-leveldb'));
  const mod = require('level') as { Level?: LevelCtor };
  if (typeof mod.Level !== 'function') throw new Error('level not available through @deploystate/backend-leveldb');
  return mod.Level;
}

/** The least any migration must do: read every value once, parse it, print it, write it durably. */
async function rawLimit(Level: LevelCtor, leveldbPath: string, outDir: string): Promise<number> {
  const db = new Level(leveldbPath, { valueEncoding: 'utf8', createIfMissing: false });
  await db.open();
  const records: DeploymentRecord[] = [];
  try {
    for await (const [, value] of db.iterator({ keyEncoding: 'utf8', valueEncoding: 'utf8' }))
      records.push(parseLossless(value) as DeploymentRecord);
  } finally {
    await db.close();
  }
  const text = stringifyLossless(networkDocuments(records), 2);
  const target = join(outDir, 'raw-limit.json');
  const handle = await open(`${target}.tmp`, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(`${target}.tmp`, target);
  return records.length;
}

async function seeded(factory: BackendFactory, records: readonly DeploymentRecord[]): Promise<string> {
  const cwd = await makeTempDir('migration');
  const store = factory.create(cwd, false);
  await store.open();
  await store.putMany(records);
  await store.close();
  return cwd;
}

async function migrateOnce(migrator: MigratorApi, cwd: string): Promise<{ copy: number; verify: number }> {
  const migration = await migrator.open({ cwd });
  try {
    await migration.enableDualWrite();
    const copy = await timeOnce(() => migration.migrate());
    const verify = await timeOnce(() => migration.verify());
    return { copy, verify };
  } finally {
    await migration.close?.();
  }
}

/** The largest `*.json` file the copy wrote, and all of them together, in bytes. */
async function networkFileSizes(deployments: string): Promise<{ largest: number; total: number; count: number }> {
  let largest = 0;
  let total = 0;
  let count = 0;
  for (const name of await readdir(deployments)) {
    if (!name.endsWith('.json')) continue;
    const { size } = await stat(join(deployments, name));
    largest = Math.max(largest, size);
    total += size;
    count++;
  }
  return { largest, total, count };
}

/** Chains the memory shapes spread records over: the five sample networks, then unregistered ids. */
const memoryChains = (count: number): number[] => [
  56,
  97,
  84532,
  11155420,
  23295,
  ...Array.from({ length: Math.max(0, count - 5) }, (_, i) => 990_001 + i),
];

/** How many times more records (and files) the second memory shape holds, with the same largest file. */
export const MEMORY_SPREAD = 5;

interface CopyMemory {
  memory: MemoryMeasurement;
  /** Sampled peak heap growth, garbage included (when V8 collects decides much of it). */
  heapGrowth: number;
  /** Peak heap growth with a full collection forced before each sample: what the copy keeps alive. */
  liveGrowth: number;
  files: { largest: number; total: number; count: number };
}

/** migrate() alone in a child process (`--expose-gc`) on a freshly seeded folder, in one worker mode. */
async function runCopyWorker(
  context: SuiteContext,
  factory: BackendFactory,
  records: readonly DeploymentRecord[],
  mode: 'sampled' | 'live',
): Promise<{ result: MigrationMemoryResult; files: CopyMemory['files'] }> {
  const cwd = await seeded(factory, records);
  try {
    const worker = join(dirname(context.workerPath), 'migration-memory-worker.js');
    const outcome = await runChild(process.execPath, ['--expose-gc', worker, JSON.stringify({ cwd, mode })], { timeoutMs: 300_000 });
    const line = outcome.stdout.trim().split('\n').pop() ?? '';
    if (outcome.code !== 0 || !line.startsWith('{'))
      throw new Error(
        `migration memory worker (${mode}) at ${records.length} exited ${outcome.code}: ${outcome.stderr.trim().slice(0, 500)}`,
      );
    return { result: JSON.parse(line) as MigrationMemoryResult, files: await networkFileSizes(join(cwd, 'deployments')) };
  } finally {
    await removeTempDir(cwd);
  }
}

/**
 * The copy's peak heap growth against the largest network file it wrote (the copy's bound) and
 * the whole store: once sampled with garbage, once live (see migration-memory-worker.ts).
 */
async function measureCopyMemory(
  context: SuiteContext,
  factory: BackendFactory,
  records: readonly DeploymentRecord[],
  size: number,
  subject: string,
): Promise<CopyMemory> {
  const sampled = await runCopyWorker(context, factory, records, 'sampled');
  const live = await runCopyWorker(context, factory, records, 'live');
  const growth = (r: MigrationMemoryResult): number => Math.max(0, r.peakHeapUsedBytes - r.heapBeforeBytes);
  const memory: MemoryMeasurement = {
    suite: 'migration',
    subject,
    size,
    rssBytes: sampled.result.peakRssBytes,
    heapUsedBytes: sampled.result.peakHeapUsedBytes,
    rssDeltaBytes: Math.max(0, sampled.result.peakRssBytes - sampled.result.rssBeforeBytes),
  };
  return { memory, heapGrowth: growth(sampled.result), liveGrowth: growth(live.result), files: sampled.files };
}

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

/**
 * The copy's memory at two shapes with the same largest network file: `size` records over 5
 * files, and MEMORY_SPREAD times as many over MEMORY_SPREAD times as many files. Bounded by the
 * largest file, the peak stays put; bounded by the store, it grows MEMORY_SPREAD-fold.
 */
async function measureCopyMemoryShapes(
  context: SuiteContext,
  factory: BackendFactory,
  size: number,
): Promise<{ memory: MemoryMeasurement[]; gates: GateResult[] }> {
  const narrow = await measureCopyMemory(
    context,
    factory,
    generateRecords(size, memoryChains(5)),
    size,
    `migrate (copy) ${size} in 5 files`,
  );
  const wideCount = size * MEMORY_SPREAD;
  const wide = await measureCopyMemory(
    context,
    factory,
    generateRecords(wideCount, memoryChains(5 * MEMORY_SPREAD)),
    size,
    `migrate (copy) ${wideCount} in ${5 * MEMORY_SPREAD} files`,
  );
  const source = 'issue 5 aim: memory bounded by the largest network file, not the whole store';
  const perFile = (m: CopyMemory, records: number): GateResult =>
    makeGate(
      {
        name: `copy live peak heap growth / largest network file (${records} records, ${m.files.count} files)`,
        limit: null,
        comparison: '<=',
        source,
      },
      'migration',
      size,
      m.files.largest > 0 ? m.liveGrowth / m.files.largest : null,
      `live peak heap growth ${mib(m.liveGrowth)} (full collection before each sample); sampled peak ${mib(m.heapGrowth)} (garbage included); largest file ${mib(m.files.largest)}; all files ${mib(m.files.total)} (${(m.heapGrowth / Math.max(1, m.files.total)).toFixed(2)}x)`,
      false,
    );
  const spread = makeGate(
    {
      name: `copy live peak heap growth at ${MEMORY_SPREAD}x the records, same largest file`,
      limit: null,
      comparison: '<=',
      source: `${source}: ~1x when bounded by the file, ~${MEMORY_SPREAD}x when by the store`,
    },
    'migration',
    size,
    narrow.liveGrowth > 0 ? wide.liveGrowth / narrow.liveGrowth : null,
    `live ${mib(wide.liveGrowth)} for ${wideCount} records in ${wide.files.count} files (largest ${mib(wide.files.largest)}) vs ${mib(narrow.liveGrowth)} for ${size} in ${narrow.files.count} (largest ${mib(narrow.files.largest)}); sampled with garbage ${mib(wide.heapGrowth)} vs ${mib(narrow.heapGrowth)}`,
    false,
  );
  return { memory: [narrow.memory, wide.memory], gates: [perFile(narrow, size), perFile(wide, wideCount), spread] };
}

export async function migrationSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const sizes = context.project ? [context.project.size] : migrationSizes(context.sizes, context.quick);
  if (sizes.length === 0) return emptyOutcome('skipped: no size >= 10000 asked (see --sizes)');
  const leveldb = await loadBackend('leveldb');
  if (!leveldb.ok) return emptyOutcome(`skipped: ${leveldb.reason}`);
  const migrator = await loadMigrator();
  if (!migrator.ok) return emptyOutcome(`skipped: ${migrator.reason}`);
  const Level = loadLevel();

  const measurements: Measurement[] = [];
  const memory: MemoryMeasurement[] = [];
  const gates: GateResult[] = [];
  const rounds = context.light ? 1 : 3;
  for (const size of sizes) {
    const records = context.project ? dataset(size) : generateRecords(size);
    const samples = { raw: [] as number[], copy: [] as number[], verify: [] as number[], total: [] as number[] };
    context.log(`migration ${size} records, ${rounds} round(s)`);
    for (let round = 0; round < rounds; round++) {
      // Each side gets its own freshly seeded folder; the lead alternates between rounds.
      for (const side of roundOrder(['raw', 'migrator'] as const, round)) {
        const cwd = await seeded(leveldb.value, records);
        try {
          if (side === 'raw') {
            samples.raw.push(await timeOnce(() => rawLimit(Level, join(cwd, 'leveldb'), cwd)));
          } else {
            const t = await migrateOnce(migrator.value, cwd);
            samples.copy.push(t.copy);
            samples.verify.push(t.verify);
            samples.total.push(t.copy + t.verify);
          }
        } finally {
          await removeTempDir(cwd);
        }
      }
    }
    const base = { suite: 'migration' as const, size, itemsPerRun: size };
    const raw = toMeasurement('raw limit', samples.raw, {
      ...base,
      operation: 'migrate',
      note: 'bare LevelDB scan + parse + one JSON write (fsync, rename)',
    });
    const total = toMeasurement('copy+verify', samples.total, { ...base, operation: 'migrate', note: 'Migration.migrate() then verify()' });
    measurements.push(
      raw,
      total,
      toMeasurement('copy', samples.copy, { ...base, operation: 'migrate', note: 'Migration.migrate()' }),
      toMeasurement('verify', samples.verify, { ...base, operation: 'migrate', note: 'Migration.verify()' }),
    );
    gates.push(makeGate(LIMITS.migration, 'migration', size, total.latencyMs.p50 / raw.latencyMs.p50, 'p50 copy+verify / p50 raw limit'));
    // Synthetic shapes at 5x the records, information only: a project's short run leaves them out.
    if (context.project && !context.project.long) continue;
    context.log(`migration memory ${size} records in 5 files and ${size * MEMORY_SPREAD} in ${5 * MEMORY_SPREAD} (child processes)`);
    const copyMemory = await measureCopyMemoryShapes(context, leveldb.value, size);
    memory.push(...copyMemory.memory);
    gates.push(...copyMemory.gates);
  }
  return { measurements, memory, gates };
}
