// What a deploy script's put pays once the migration journal is long: createStateStore()'s put in
// json-only on two copies of the same project, the same network files, one journal as the walk left
// it and one grown by the toolkit's own write path, interleaved. A put appends to the journal and
// never reads it, so the two should match; the row shows it does, for information.
import { cp } from 'node:fs/promises';
import type { DeploymentRecord, StateStore } from '@deploystate/core';
import { ratioGate } from '../gates.js';
import { makeTempDir, measure } from '../harness.js';
import type { MigratorApi } from '../loaders.js';
import type { GateResult, Measurement } from '../results.js';
import { scaled, upgraded, type SuiteContext } from './context.js';

/** Journal entries the long copy gets: 100k (10k with --quick). */
export function longJournalEntries(context: Pick<SuiteContext, 'quick'>): number {
  return context.quick ? 10_000 : 100_000;
}

/** Records per putMany while the journal grows: each is an intent and an `ok` line, the file written once. */
const GROW_BATCH = 500;

export async function longJournalPutRow(
  context: SuiteContext,
  walk: { project: string; migrator: MigratorApi; chainRecords: readonly DeploymentRecord[]; size: number },
  measurements: Measurement[],
  dirs: string[],
): Promise<GateResult> {
  const entries = longJournalEntries(context);
  const copies = { short: await makeTempDir('journal-short'), long: await makeTempDir('journal-long') };
  dirs.push(copies.short, copies.long);
  const stores: StateStore[] = [];
  let stamp = 1_950_000_000_000;
  // The chain's own records, again and again: the file keeps its records and its size as the journal grows.
  const batch = (): DeploymentRecord[] =>
    Array.from({ length: GROW_BATCH }, (_, i) => upgraded(walk.chainRecords[i % walk.chainRecords.length] as DeploymentRecord, stamp++));
  try {
    for (const dir of Object.values(copies)) await cp(walk.project, dir, { recursive: true });
    const short = await walk.migrator.createStateStore({ cwd: copies.short, env: {} });
    const long = await walk.migrator.createStateStore({ cwd: copies.long, env: {} });
    stores.push(short, long);
    context.log(`factory ${walk.size} records, json-only: growing a copy's journal by ${entries} entries`);
    await short.putMany(batch());
    for (let grown = 0; grown < entries; grown += 2 * GROW_BATCH) await long.putMany(batch());
    const operation = 'put json-only, long journal';
    // One new record a put, built for it alone (the timed run holds the put, not a batch's making).
    const put = (store: StateStore) => () => store.put(upgraded(walk.chainRecords[0] as DeploymentRecord, stamp++));
    measurements.push(
      ...(await measure(
        [
          { name: 'short journal', run: put(short) },
          { name: `journal +${entries}`, run: put(long) },
        ],
        {
          suite: 'factory',
          operation,
          size: walk.size,
          itemsPerRun: 1,
          note: `createStateStore() in json-only on two copies of one project (same network files), one journal ${entries} entries longer; interleaved`,
        },
        scaled(context, 1, 50),
      )),
    );
    return ratioGate(
      { name: `info: put json-only with ${entries} more journal entries vs a short journal`, limit: null, comparison: '<=', source: 'what a deploy script pays late in a long migration' },
      measurements,
      { suite: 'factory', operation, candidate: `journal +${entries}`, reference: 'short journal', size: walk.size },
      false,
    );
  } finally {
    for (const store of stores) await store.close().catch(() => undefined);
  }
}
