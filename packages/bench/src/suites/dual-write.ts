// The dual-write store (what deploy scripts get from the migrator's factory once dual-write is
// enabled) against LevelDB alone, on the same records: runbook 2.3 allows < 50% slower.
import type { StateStore } from '@deploystate/core';
import { isGatedSize, LIMITS, makeGate, p50Ratio } from '../gates.js';
import { makeTempDir, measure, removeTempDir } from '../harness.js';
import { dataset, loadBackend, loadMigrator } from '../loaders.js';
import type { GateResult, Measurement } from '../results.js';
import { emptyOutcome, scaled, type SuiteContext, type SuiteOutcome } from './context.js';

/** Dual-write is measured up to 10k records; beyond that it answers no runbook question. */
export const DUAL_WRITE_MAX_SIZE = 10_000;

export async function dualWriteSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const leveldb = await loadBackend('leveldb');
  if (!leveldb.ok) return emptyOutcome(`skipped: ${leveldb.reason}`);
  const migrator = await loadMigrator();
  if (!migrator.ok) return emptyOutcome(`skipped: ${migrator.reason}`);

  const measurements: Measurement[] = [];
  const gates: GateResult[] = [];
  for (const size of context.sizes.filter((s) => s <= DUAL_WRITE_MAX_SIZE)) {
    const records = dataset(size);
    const dirs: string[] = [];
    const stores: StateStore[] = [];
    try {
      // The migration's folder: ./leveldb seeded with the records, then dual-write enabled.
      const cwd = await makeTempDir('dual-write');
      dirs.push(cwd);
      const seed = leveldb.value.create(cwd, false);
      await seed.open();
      await seed.putMany(records);
      await seed.close();
      const migration = await migrator.value.open({ cwd });
      await migration.enableDualWrite();
      await migration.close?.();
      const dual = await migrator.value.createStateStore({ cwd, env: {} });
      stores.push(dual);
      await dual.open();

      // Seeded, closed and reopened like the dual-write store's LevelDB, so both read from table
      // files rather than one of them from its memtable.
      const refDir = await makeTempDir('leveldb-alone');
      dirs.push(refDir);
      const refSeed = leveldb.value.create(refDir, false);
      await refSeed.open();
      await refSeed.putMany(records);
      await refSeed.close();
      const alone = leveldb.value.create(refDir, false);
      stores.push(alone);
      await alone.open();

      // LevelDB with sync: true as well: the dual-write store journals durably, so this shows how
      // much of its cost is durability rather than the second backend.
      const syncDir = await makeTempDir('leveldb-sync');
      dirs.push(syncDir);
      const aloneSync = leveldb.value.create(syncDir, true);
      stores.push(aloneSync);
      await aloneSync.open();
      await aloneSync.putMany(records);

      context.log(`dual-write ${size} records vs leveldb alone`);
      const subjects = (
        op: (s: StateStore, round: number) => Promise<unknown>,
      ): Array<{ name: string; run: (round: number) => Promise<unknown> }> => [
        { name: 'dual-write', run: (r) => op(dual, r) },
        { name: 'leveldb', run: (r) => op(alone, r) },
      ];
      const pick = (round: number) => records[(round * 7919) % records.length] as (typeof records)[number];
      measurements.push(
        ...(await measure(
          [
            ...subjects((s, r) => s.put({ ...pick(r), timestamp: 1_800_000_000_000 + r })),
            { name: 'leveldb sync', run: (r: number) => aloneSync.put({ ...pick(r), timestamp: 1_800_000_000_000 + r }) },
          ],
          {
            suite: 'dual-write',
            operation: 'put',
            size,
            itemsPerRun: 1,
            note: 'factory store in dual-write (journal + both backends) vs LevelDbStore (sync false, and sync true)',
          },
          scaled(context, 4, 5),
        )),
        ...(await measure(
          subjects((s, r) => s.get(pick(r).chainId, pick(r).contractName)),
          { suite: 'dual-write', operation: 'get', size, itemsPerRun: 1, note: 'reads come from LevelDB in dual-write' },
          scaled(context, 1, 5),
        )),
      );
      for (const operation of ['put', 'get']) {
        const value = p50Ratio(measurements, 'dual-write', operation, 'dual-write', 'leveldb', size);
        gates.push(
          makeGate(
            { ...LIMITS.dualWrite, name: `${LIMITS.dualWrite.name} (${operation})` },
            'dual-write',
            size,
            value,
            `p50 dual-write / p50 leveldb alone, ${operation}`,
            isGatedSize(size),
          ),
        );
      }
      const durable = p50Ratio(measurements, 'dual-write', 'put', 'dual-write', 'leveldb sync', size);
      gates.push(
        makeGate(
          {
            name: 'dual-write (put) vs leveldb sync',
            limit: null,
            comparison: '<=',
            source: 'information: how much of the cost is durability',
          },
          'dual-write',
          size,
          durable,
          'p50 dual-write / p50 leveldb sync: true, put',
          false,
        ),
      );
    } finally {
      for (const store of stores) await store.close().catch(() => undefined);
      for (const dir of dirs) await removeTempDir(dir);
    }
  }
  return { measurements, memory: [], gates };
}
