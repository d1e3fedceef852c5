// LevelDB and JSON side by side: the same records, the same operations, interleaved, each store
// in its own fresh temp folder; then each backend's process memory alone in a child process.
import type { DeploymentRecord, StateStore } from '@deploystate/core';
import { generateRecords } from '@deploystate/core';
import { backendGates } from '../gates.js';
import { makeTempDir, measure, measureMemoryInChild, removeTempDir, type Subject } from '../harness.js';
import { BACKENDS, dataset, loadBackend, type BackendFactory } from '../loaders.js';
import type { Measurement, MemoryMeasurement } from '../results.js';
import { emptyOutcome, listNote, listRepeat, LONE_CALLS, loneCallSampling, pointSampling, POINT_REPEAT, scaled, type SuiteContext, type SuiteOutcome } from './context.js';

/** The records of one batch: 10k, or fewer in quick mode. */
export function batchSize(quick: boolean): number {
  return quick ? 500 : 10_000;
}

/** A key picked per round, spread over the data so reads do not hit one cached entry. */
function pick(records: readonly DeploymentRecord[], round: number): DeploymentRecord {
  return records[(round * 7919) % records.length] as DeploymentRecord;
}

/** The chain with the most records: the per-chain list reads a real slice. */
function busiestChain(records: readonly DeploymentRecord[]): number {
  const counts = new Map<number, number>();
  for (const r of records) counts.set(r.chainId, (counts.get(r.chainId) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 56;
}

interface OpenStores {
  backend: string;
  plain: StateStore;
  durable: StateStore;
}

async function withStores<T>(
  factories: readonly BackendFactory[],
  records: readonly DeploymentRecord[],
  run: (stores: OpenStores[]) => Promise<T>,
): Promise<T> {
  const dirs: string[] = [];
  const opened: StateStore[] = [];
  const openStore = async (factory: BackendFactory, durable: boolean): Promise<StateStore> => {
    const dir = await makeTempDir(`${factory.name}${durable ? '-durable' : ''}`);
    dirs.push(dir);
    const store = factory.create(dir, durable);
    opened.push(store);
    await store.open();
    await store.putMany(records);
    return store;
  };
  try {
    const stores: OpenStores[] = [];
    for (const factory of factories) {
      stores.push({ backend: factory.name, plain: await openStore(factory, false), durable: await openStore(factory, true) });
    }
    return await run(stores);
  } finally {
    for (const store of opened) await store.close().catch(() => undefined);
    for (const dir of dirs) await removeTempDir(dir);
  }
}

async function drain(store: StateStore): Promise<number> {
  let count = 0;
  for await (const entry of store.iterate()) if (entry) count++;
  return count;
}

export async function backendsSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const factories: BackendFactory[] = [];
  const missing: string[] = [];
  for (const name of BACKENDS) {
    const loaded = await loadBackend(name);
    if (loaded.ok) factories.push(loaded.value);
    else missing.push(loaded.reason);
  }
  if (factories.length === 0) return emptyOutcome(`skipped: ${missing.join('; ')}`);

  const measurements: Measurement[] = [];
  const memory: MemoryMeasurement[] = [];
  for (const size of context.sizes) {
    const records = dataset(size);
    const chainId = busiestChain(records);
    context.log(`backends ${size} records: ${factories.map((f) => f.name).join(' vs ')}`);
    await withStores(factories, records, async (stores) => {
      const subjects = (op: (s: OpenStores) => (round: number) => Promise<unknown>): Subject[] =>
        stores.map((s) => ({ name: s.backend, run: op(s) }));
      const base = { suite: 'backends' as const, size };
      const rewrite = (round: number): DeploymentRecord => ({ ...pick(records, round), timestamp: 1_800_000_000_000 + round });
      measurements.push(
        ...(await measure(
          subjects((s) => (r) => s.plain.get(pick(records, r).chainId, pick(records, r).contractName)),
          { ...base, operation: 'get', itemsPerRun: 1, note: `each sample the mean of ${POINT_REPEAT} gets in a row` },
          pointSampling(context),
        )),
        ...(await measure(
          subjects((s) => (r) => s.plain.put(rewrite(r))),
          {
            ...base,
            operation: 'put',
            itemsPerRun: 1,
            note: `overwrite of an existing record, steady state, each sample the mean of ${LONE_CALLS} lone puts; LevelDB sync false, JSON durable false (neither fsyncs)`,
          },
          // Puts taken alone, the stores taking turns put by put: in runs of puts the JSON store's
          // JavaScript runs warm (about 90 us a put), which no deploy script's put does. The median
          // of single puts after a few warm-up rounds flipped the gate between runs (2.2-4.6x).
          loneCallSampling(context, 2),
        )),
        ...(await measure(
          subjects((s) => (r) => s.durable.put(rewrite(r))),
          {
            ...base,
            operation: 'put-durable',
            itemsPerRun: 1,
            note: `steady state, each sample the mean of ${LONE_CALLS} lone puts; LevelDB sync: true vs JSON durable: true (fdatasync + folder fsync)`,
          },
          // 50 single puts a side, 3 warm-up rounds, let the ratio at 500 records flip between runs (2.4-3.7x).
          loneCallSampling(context, 4),
        )),
        ...(await measure(
          subjects((s) => () => s.plain.list(chainId)),
          { ...base, operation: 'list', itemsPerRun: records.filter((r) => r.chainId === chainId).length, note: listNote(chainId, size) },
          { ...scaled(context, Math.max(1, size / 500), 5), repeat: listRepeat(size) },
        )),
        ...(await measure(
          subjects((s) => () => s.plain.query({ sortBy: 'timestamp', order: 'desc' })),
          { ...base, operation: 'query', itemsPerRun: size, note: 'all records sorted by timestamp desc' },
          scaled(context, Math.max(1, size / 200), 5),
        )),
        ...(await measure(
          subjects((s) => () => drain(s.plain)),
          { ...base, operation: 'iterate', itemsPerRun: size, note: 'full iteration in key order' },
          scaled(context, Math.max(1, size / 200), 5),
        )),
      );
      // Last: the batch grows the store, so it must not change what the reads above saw.
      // New values every round: a batch that re-sends identical records lets a store skip the write.
      const batch = generateRecords(batchSize(context.light)).map((r) => ({ ...r, contractName: `Batch${r.contractName}` }));
      const batchRound = (round: number): DeploymentRecord[] => batch.map((r) => ({ ...r, timestamp: 1_900_000_000_000 + round }));
      measurements.push(
        ...(await measure(
          subjects((s) => (r) => s.plain.putMany(batchRound(r))),
          {
            ...base,
            operation: 'batch',
            itemsPerRun: batch.length,
            note: `putMany of ${batch.length} records, new values each round (first round new keys); LevelDB sync false, JSON durable false`,
          },
          scaled(context, 25, 3),
        )),
      );
    });
    for (const factory of factories) {
      context.log(`memory ${factory.name} ${size} records (child process)`);
      memory.push(await measureMemoryInChild(context.workerPath, {
          suite: 'backends',
          backend: factory.name,
          size,
          ...(context.project && { projectRoot: context.project.root }),
        }));
    }
  }
  return {
    measurements,
    memory,
    gates: backendGates(measurements, memory),
    ...(missing.length > 0 && { skipped: `partly skipped: ${missing.join('; ')}` }),
  };
}
