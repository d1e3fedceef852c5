// Migration throughput: copy then verify (the migrator's own code) against the raw limit measured
// in the same run on the same records: a bare LevelDB scan plus one JSON write of everything.
import { createRequire } from 'node:module';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { generateRecords, parseLossless, stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import { LIMITS, makeGate } from '../gates.js';
import { makeTempDir, removeTempDir, roundOrder, timeOnce, toMeasurement } from '../harness.js';
import { loadBackend, loadMigrator, type BackendFactory, type MigratorApi } from '../loaders.js';
import type { GateResult, Measurement } from '../results.js';
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

export async function migrationSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const sizes = migrationSizes(context.sizes, context.quick);
  if (sizes.length === 0) return emptyOutcome('skipped: no size >= 10000 asked (see --sizes)');
  const leveldb = await loadBackend('leveldb');
  if (!leveldb.ok) return emptyOutcome(`skipped: ${leveldb.reason}`);
  const migrator = await loadMigrator();
  if (!migrator.ok) return emptyOutcome(`skipped: ${migrator.reason}`);
  const Level = loadLevel();

  const measurements: Measurement[] = [];
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
  }
  return { measurements, memory: [], gates };
}
