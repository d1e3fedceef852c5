// The dual-write store deploy scripts get from `createStateStore()` once dual-write is enabled and
// the copy has run (so the JSON files hold every record, as in production), against LevelDB alone
// kept open as the legacy state module keeps it: runbook 2.3 allows < 50% slower. Measured one
// awaited put at a time, back to back and at a deploy script's pace (100 ms between puts), and as
// N puts plus close(), so work deferred to close() cannot pass for speed.
import { sleep, type DeploymentRecord, type StateStore } from '@deploystate/core';
import { isGatedSize, LIMITS, ratioGate } from '../gates.js';
import { makeTempDir, measure, removeTempDir, toMeasurement, type Subject } from '../harness.js';
import { dataset, loadBackend, loadMigrator } from '../loaders.js';
import type { GateResult, Measurement } from '../results.js';
import { emptyOutcome, PACE_MS, pacedRounds, pointSampling, POINT_REPEAT, PUTS_PER_SESSION, scaled, scriptRun, sessionRecords, sessionSampling, upgraded, type SuiteContext, type SuiteOutcome } from './context.js';
import { pickRecord } from './factory.js';
import { seededLevelDb, startWalk } from './walk.js';

/** Dual-write is measured up to 10k records; beyond that it answers no runbook question. */
export const DUAL_WRITE_MAX_SIZE = 10_000;
/** How long the lag probe waits for a put to show in the JSON file before it calls it missing. */
const LAG_LIMIT_MS = 5000;

export async function dualWriteSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const leveldb = await loadBackend('leveldb');
  if (!leveldb.ok) return emptyOutcome(`skipped: ${leveldb.reason}`);
  const json = await loadBackend('json');
  if (!json.ok) return emptyOutcome(`skipped: ${json.reason}`);
  const migrator = await loadMigrator();
  if (!migrator.ok) return emptyOutcome(`skipped: ${migrator.reason}`);

  const measurements: Measurement[] = [];
  const gates: GateResult[] = [];
  for (const size of context.sizes.filter((s) => s <= DUAL_WRITE_MAX_SIZE || s === context.project?.size)) {
    const records = dataset(size);
    const gated = isGatedSize(size);
    const walk = await startWalk(leveldb.value, migrator.value, records);
    const dirs: string[] = [];
    const stores: StateStore[] = [];
    try {
      await walk.advance('dual-write');
      const dual = await walk.factoryStore();
      // A second reader of the JSON files, as another process would see them.
      const observer = json.value.create(walk.cwd, false);
      stores.push(observer);
      await observer.open();

      const refDir = await seededLevelDb(leveldb.value, records, 'leveldb-alone', dirs);
      const alone = leveldb.value.create(refDir, false);
      stores.push(alone);
      await alone.open();
      // Their own folders for the session row: one process cannot open a LevelDB twice.
      const sessionDir = await seededLevelDb(leveldb.value, records, 'leveldb-session', dirs);
      const sessionSyncDir = await seededLevelDb(leveldb.value, records, 'leveldb-session-sync', dirs);
      const syncDir = await makeTempDir('leveldb-sync');
      dirs.push(syncDir);
      const aloneSync = leveldb.value.create(syncDir, true);
      stores.push(aloneSync);
      await aloneSync.open();
      await aloneSync.putMany(records);

      context.log(`dual-write ${size} records (files populated by a copy) vs leveldb alone`);
      let stamp = 1_800_000_000_000;
      const next = (r: number): DeploymentRecord => upgraded(pickRecord(records, r), stamp++);
      const base = { suite: 'dual-write' as const, size, itemsPerRun: 1 };
      const durability = 'dual-write: LevelDB sync false + journal + JSON durable; leveldb: sync false; leveldb sync: sync true';

      // Back to back.
      measurements.push(
        ...(await measure(
          [
            { name: 'dual-write', run: (r: number) => dual.put(next(r)) },
            { name: 'leveldb', run: (r: number) => alone.put(next(r)) },
            { name: 'leveldb sync', run: (r: number) => aloneSync.put(next(r)) },
          ],
          { ...base, operation: 'put', note: `one awaited put at a time, back to back, each sample the mean of ${POINT_REPEAT} puts in a row; ${durability}` },
          // A gate on p50s of tens of microseconds: 200 rounds (50 flipped between runs at +-25%),
          // each the mean of a few puts (single puts split into a fast and a slow mode, as gets do).
          pointSampling(context),
        )),
      );

      // At a deploy script's pace; the lag probe watches the JSON side catch up after each put.
      const lags: number[] = [];
      let last: DeploymentRecord | undefined;
      const paced = (name: string, store: StateStore, probe: boolean): Subject => ({
        name,
        before: () => sleep(PACE_MS),
        run: (r) => {
          last = next(r);
          return store.put(last);
        },
        ...(probe && {
          after: async () => {
            const written = last as DeploymentRecord;
            const started = performance.now();
            for (;;) {
              const seen = await observer.get(written.chainId, written.contractName);
              if (seen?.timestamp === written.timestamp) break;
              if (performance.now() - started > LAG_LIMIT_MS) throw new Error(`dual-write put of ${written.contractName} not in JSON after ${LAG_LIMIT_MS} ms`);
              await sleep(1);
            }
            lags.push(performance.now() - started);
          },
        }),
      });
      // Each round costs 2 x PACE_MS.
      const rounds = pacedRounds(context);
      measurements.push(
        ...(await measure(
          [paced('dual-write', dual, true), paced('leveldb', alone, false)],
          { ...base, operation: `put @${PACE_MS}ms`, note: `one put every ${PACE_MS} ms, as a deploy script writes; ${durability}` },
          { warmup: 1, iterations: rounds, minIterations: rounds },
        )),
        toMeasurement('dual-write', lags, {
          ...base,
          operation: `json lag @${PACE_MS}ms`,
          note: 'from the put returning to the record being readable from the JSON file by another reader',
        }),
      );

      // N puts plus close(): whatever a store defers to close() is paid here.
      measurements.push(
        ...(await measure(
          [
            { name: 'dual-write', run: (r: number) => scriptRun(() => walk.scriptStore(), sessionRecords(next, r)) },
            { name: 'leveldb', run: (r: number) => scriptRun(() => leveldb.value.create(sessionDir, false), sessionRecords(next, r)) },
            // For information: the same session with LevelDB's writes durable too, as the JSON files are when close() returns.
            { name: 'leveldb sync', run: (r: number) => scriptRun(() => leveldb.value.create(sessionSyncDir, true), sessionRecords(next, r)) },
          ],
          {
            ...base,
            operation: `${PUTS_PER_SESSION} puts + close`,
            itemsPerRun: PUTS_PER_SESSION,
            note: `a script's session: open, ${PUTS_PER_SESSION} puts, close; ${durability}`,
          },
          sessionSampling(context),
        )),
      );

      measurements.push(
        ...(await measure(
          [
            { name: 'dual-write', run: (r: number) => dual.get(pickRecord(records, r).chainId, pickRecord(records, r).contractName) },
            { name: 'leveldb', run: (r: number) => alone.get(pickRecord(records, r).chainId, pickRecord(records, r).contractName) },
          ],
          { ...base, operation: 'get', note: `reads come from LevelDB in dual-write; each sample the mean of ${POINT_REPEAT} gets in a row` },
          pointSampling(context),
        )),
      );

      const where = (operation: string, reference = 'leveldb') => ({
        suite: 'dual-write' as const,
        operation,
        candidate: 'dual-write',
        reference,
        size,
      });
      const named = (label: string) => ({ ...LIMITS.dualWrite, name: `${LIMITS.dualWrite.name} (${label})` });
      gates.push(
        ratioGate(named('put'), measurements, where('put'), gated),
        ratioGate(named(`put @${PACE_MS}ms`), measurements, where(`put @${PACE_MS}ms`), gated),
        ratioGate(named(`${PUTS_PER_SESSION} puts + close`), measurements, where(`${PUTS_PER_SESSION} puts + close`), gated),
        ratioGate(
          {
            name: `info: ${PUTS_PER_SESSION} dual-write puts + close vs leveldb sync`,
            limit: null,
            comparison: '<=',
            source: 'close() leaves every touched network file durable; LevelDB alone (sync false) makes nothing durable',
          },
          measurements,
          where(`${PUTS_PER_SESSION} puts + close`, 'leveldb sync'),
          false,
        ),
        ratioGate(named('get'), measurements, where('get'), gated),
        ratioGate(
          { name: 'info: dual-write put vs leveldb sync', limit: null, comparison: '<=', source: 'how much of the cost is durability' },
          measurements,
          where('put', 'leveldb sync'),
          false,
        ),
      );
    } finally {
      for (const store of stores) await store.close().catch(() => undefined);
      await walk.dispose();
      for (const dir of dirs) await removeTempDir(dir);
    }
  }
  return { measurements, memory: [], gates };
}
