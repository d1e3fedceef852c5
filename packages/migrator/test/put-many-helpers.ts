// What the putMany tests read back: the journal after a point, the writes of the factory store's
// JSON side, and an upgrade of a record.
import { expect } from 'vitest';
import { join } from 'node:path';
import { sampleRecord, type DeploymentRecord } from '@deploystate/core';
import type { LevelDbStore } from '@deploystate/backend-leveldb';
import { JsonFileStore } from '@deploystate/backend-json';
import { stateFiles, type MigrationPhase, type MigrationStateStore } from '../src/index.js';
import { runNode } from './helpers.js';
import { Journal, type IntentEntry, type JournalEntry, type OutcomeEntry } from '../src/journal.js';
import { resolvePaths } from '../src/paths.js';

/** The journal's entries after `sinceSeq`, as rollback and the copy read them. */
export async function journalSince(dir: string, sinceSeq: number): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for await (const entry of new Journal(stateFiles(resolvePaths({ cwd: dir })).journal).entries({ sinceSeq })) entries.push(entry);
  return entries;
}

export async function lastSeq(dir: string): Promise<number> {
  return new Journal(stateFiles(resolvePaths({ cwd: dir })).journal).lastSeq();
}

/**
 * A git pull replacing `phase.json` (with `phase`) right before the factory store's first outbox
 * batch takes LevelDB, as a teammate's pull can; true once it has.
 */
export function pullPhaseBeforeOutboxBatch(store: MigrationStateStore, dir: string, phase: MigrationPhase): () => boolean {
  const leveldb = sidesOf(store).leveldb;
  const original = leveldb.putManyWithOutbox.bind(leveldb);
  let pulled = false;
  leveldb.putManyWithOutbox = async (...args) => {
    if (!pulled) {
      pulled = true;
      const { code, stderr } = await runNode('edit-phase.mjs', [dir, 'pull', JSON.stringify({ phase })]).done;
      if (code !== 0) throw new Error(stderr);
    }
    return original(...args);
  };
  return () => pulled;
}

/** What the project's network files hold under each chain and name (null: no record), read by a store of their own. */
export async function inJsonFiles(dir: string, keys: ReadonlyArray<readonly [number, string]>): Promise<Array<DeploymentRecord | null>> {
  const json = new JsonFileStore({ dir: resolvePaths({ cwd: dir }).deployments, readOnly: true });
  await json.open();
  try {
    return await Promise.all(keys.map(([chainId, name]) => json.get(chainId, name)));
  } finally {
    await json.close();
  }
}

/** The factory store's two sides (a test's look inside). */
export function sidesOf(store: MigrationStateStore): { leveldb: LevelDbStore; json: JsonFileStore } {
  return (store as unknown as { sides: { leveldb: LevelDbStore; json: JsonFileStore } }).sides;
}

/** Counts, per file, the times the store's JSON side replaced it (its hook right before each rename). */
export function countReplacements(store: MigrationStateStore): Map<string, number> {
  const counts = new Map<string, number>();
  const options = (sidesOf(store).json as unknown as { writes: { options: { beforeReplace?: (file: string) => Promise<void> | void } } }).writes
    .options;
  const before = options.beforeReplace;
  options.beforeReplace = (file) => {
    counts.set(file, (counts.get(file) ?? 0) + 1);
    return before?.(file);
  };
  return counts;
}

/** An upgrade of a record: a new implementation address, so its file changes. */
export const upgraded = (record: DeploymentRecord, digit: string): DeploymentRecord => ({ ...record, address: `0x${digit.repeat(40)}` });

/**
 * Counts the LevelDB batches and single puts the factory store's LevelDB side is given from now on,
 * with and without outbox entries (dual-write's writes carry them).
 */
export function countLevelDbWrites(store: MigrationStateStore): {
  readonly batches: number;
  readonly puts: number;
  readonly outboxBatches: number;
  readonly outboxWrites: number;
} {
  const leveldb = sidesOf(store).leveldb;
  const counts = { batches: 0, puts: 0, outboxBatches: 0, outboxWrites: 0 };
  const putMany = leveldb.putManyChecked.bind(leveldb);
  const putChecked = leveldb.putChecked.bind(leveldb);
  const putManyWithOutbox = leveldb.putManyWithOutbox.bind(leveldb);
  const writeWithOutbox = leveldb.writeWithOutbox.bind(leveldb);
  leveldb.putManyChecked = (checked) => {
    counts.batches++;
    return putMany(checked);
  };
  leveldb.putChecked = (checked) => {
    counts.puts++;
    return putChecked(checked);
  };
  leveldb.putManyWithOutbox = (...args) => {
    counts.outboxBatches++;
    return putManyWithOutbox(...args);
  };
  leveldb.writeWithOutbox = (...args) => {
    counts.outboxWrites++;
    return writeWithOutbox(...args);
  };
  return counts;
}

/**
 * Six records over three networks, in an order that interleaves them, with bsctestnet's `A` named
 * twice (its second an upgrade): a batch whose networks' files are each written once, and whose
 * doubled key must end as its last record.
 */
export function threeNetworksBatch(): DeploymentRecord[] {
  return [
    sampleRecord(97, 'A', 'bsctestnet', 1),
    sampleRecord(84532, 'B', 'basesepolia', 1),
    sampleRecord(97, 'C', 'bsctestnet', 1),
    upgraded(sampleRecord(97, 'A', 'bsctestnet', 1), '3'),
    sampleRecord(56, 'D', 'bscmainnet', 1),
    sampleRecord(84532, 'E', 'basesepolia', 1),
  ];
}

/** threeNetworksBatch()'s three network files, each replaced once (countReplacements). */
export function expectEachNetworkFileWrittenOnce(dir: string, replaced: ReadonlyMap<string, number>): void {
  const deployments = resolvePaths({ cwd: dir }).deployments;
  expect(Object.fromEntries(replaced)).toEqual({
    [join(deployments, 'bsctestnet.json')]: 1,
    [join(deployments, 'basesepolia.json')]: 1,
    [join(deployments, 'bscmainnet.json')]: 1,
  });
}

/**
 * The journal after `sinceSeq` holds one intent per record of `batch` and one `ok` per intent,
 * naming it and after it, as that many puts leave; returns the intents for a test's own checks.
 */
export async function expectOneIntentAndOkPerRecord(dir: string, sinceSeq: number, batch: readonly DeploymentRecord[]): Promise<IntentEntry[]> {
  const entries = await journalSince(dir, sinceSeq);
  const intents = entries.filter((e): e is IntentEntry => e.type === 'intent');
  const oks = entries.filter((e): e is OutcomeEntry => e.type === 'outcome');
  expect(intents.map((e) => e.key).sort()).toEqual(batch.map((r) => `${r.chainId}-${r.contractName}`).sort());
  expect(oks.map((e) => e.outcome)).toEqual(batch.map(() => 'ok'));
  expect(oks.map((e) => e.ref).sort((a, b) => a - b)).toEqual(intents.map((e) => e.seq));
  for (const ok of oks) expect(ok.seq).toBeGreaterThan(ok.ref);
  return intents;
}
