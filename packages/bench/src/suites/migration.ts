// Migration throughput: copy then verify (the migrator's own code) against the raw limit measured
// in the same run on the same records: a bare LevelDB scan plus one JSON write of everything.
import { createRequire } from 'node:module';
import { open, readdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generateRecords, parseLossless, stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import { LIMITS, makeGate } from '../gates.js';
import { makeTempDir, removeTempDir, roundOrder, runChild, timeOnce, toMeasurement } from '../harness.js';
import { loadBackend, loadMigrator, type BackendFactory, type MigratorApi } from '../loaders.js';
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
    for await (const [, value] of db.iterator({ keyEncoding: 'utf8', valueEncoding: 'utf8' })) records.push(parseLossless(value) as DeploymentRecord);
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
async function networkFileSizes(deployments: string): Promise<{ largest: number; total: number }> {
  let largest = 0;
  let total = 0;
  for (const name of await readdir(deployments)) {
    if (!name.endsWith('.json')) continue;
    const { size } = await stat(join(deployments, name));
    largest = Math.max(largest, size);
    total += size;
  }
  return { largest, total };
}

/**
 * migrate() alone in a child process (`--expose-gc`) on a freshly seeded folder: its peak heap
 * growth against the largest network file it wrote (the copy's bound) and the whole store.
 */
async function measureCopyMemory(context: SuiteContext, factory: BackendFactory, records: readonly DeploymentRecord[], size: number): Promise<{ memory: MemoryMeasurement; gate: GateResult }> {
  const cwd = await seeded(factory, records);
  try {
    const worker = join(dirname(context.workerPath), 'migration-memory-worker.js');
    const outcome = await runChild(process.execPath, ['--expose-gc', worker, JSON.stringify({ cwd })], { timeoutMs: 300_000 });
    const line = outcome.stdout.trim().split('\n').pop() ?? '';
    if (outcome.code !== 0 || !line.startsWith('{')) throw new Error(`migration memory worker at ${size} exited ${outcome.code}: ${outcome.stderr.trim().slice(0, 500)}`);
    const result = JSON.parse(line) as MigrationMemoryResult;
    const files = await networkFileSizes(join(cwd, 'deployments'));
    const heapGrowth = Math.max(0, result.peakHeapUsedBytes - result.heapBeforeBytes);
    const memory: MemoryMeasurement = { suite: 'migration', subject: 'migrate (copy)', size, rssBytes: result.peakRssBytes, heapUsedBytes: result.peakHeapUsedBytes, rssDeltaBytes: Math.max(0, result.peakRssBytes - result.rssBeforeBytes) };
    const gate = makeGate(
      { name: 'copy peak heap growth / largest network file', limit: null, comparison: '<=', source: 'issue 5 aim: memory bounded by the largest network file, not the whole store' },
      'migration',
      size,
      files.largest > 0 ? heapGrowth / files.largest : null,
      `peak heap growth ${(heapGrowth / 1048576).toFixed(1)} MiB (sampled, garbage included); largest file ${(files.largest / 1048576).toFixed(1)} MiB; all files ${(files.total / 1048576).toFixed(1)} MiB (${(heapGrowth / Math.max(1, files.total)).toFixed(2)}x)`,
      false,
    );
    return { memory, gate };
  } finally {
    await removeTempDir(cwd);
  }
}

export async function migrationSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const sizes = migrationSizes(context.sizes, context.quick);
  if (sizes.length === 0) return emptyOutcome('skipped: no size >= 10000 asked (see --sizes)');
  const leveldb = await loadBackend('leveldb');
  if (!leveldb.ok) return emptyOutcome(`skipped: ${leveldb.reason}`);
  const migrator = await loadMigrator();
  if (!migrator.ok) return emptyOutcome(`skipped: ${migrator.reason}`);
  const Level = loadLevel();

  const measurements: Measurement[] = [];
  const memory: MemoryMeasurement[] = [];
  const gates: GateResult[] = [];
  const rounds = context.quick ? 1 : 3;
  for (const size of sizes) {
    const records = generateRecords(size);
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
    const raw = toMeasurement('raw limit', samples.raw, { ...base, operation: 'migrate', note: 'bare LevelDB scan + parse + one JSON write (fsync, rename)' });
    const total = toMeasurement('copy+verify', samples.total, { ...base, operation: 'migrate', note: 'Migration.migrate() then verify()' });
    measurements.push(
      raw,
      total,
      toMeasurement('copy', samples.copy, { ...base, operation: 'migrate', note: 'Migration.migrate()' }),
      toMeasurement('verify', samples.verify, { ...base, operation: 'migrate', note: 'Migration.verify()' }),
    );
    gates.push(makeGate(LIMITS.migration, 'migration', size, total.latencyMs.p50 / raw.latencyMs.p50, 'p50 copy+verify / p50 raw limit'));
    context.log(`migration memory ${size} records (child process)`);
    const copyMemory = await measureCopyMemory(context, leveldb.value, records, size);
    memory.push(copyMemory.memory);
    gates.push(copyMemory.gate);
  }
  return { measurements, memory, gates };
}
