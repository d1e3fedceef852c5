// A putMany through createStateStore() in json-primary writes a network's records as one batch with
// every guarantee a single put keeps: their intents durable before the file is replaced, the
// network's turn taken once, one write of the file that says what each key held, one LevelDB batch,
// the undo of a failed LevelDB batch as a per-key compare-and-swap in one write (another process's
// write since stands), DIVERGED when that undo fails, and a writer killed between its JSON and
// LevelDB writes read by verify and rollback as that many cut-off puts. Real files and processes.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, sampleRecord, StateError, type CheckedRecord, type DeploymentRecord } from '@deploystate/core';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { createStateStore, Migration, type MigrationStateStore } from '../src/index.js';
import type { IntentEntry } from '../src/journal.js';
import { resolvePaths } from '../src/paths.js';
import { acknowledgeAll, sidesDiffer, demoMigration, fixture, firstLine, runNode, useTempDir } from './helpers.js';
import {
  countLevelDbWrites,
  countReplacements,
  expectEachNetworkFileWrittenOnce,
  expectOneIntentAndOkPerRecord,
  journalSince,
  lastSeq,
  sidesOf,
  threeNetworksBatch,
  upgraded,
} from './put-many-helpers.js';

const tempDir = useTempDir('migrator-put-many-json-primary-');

/** Each key's outcomes in the journal after `sinceSeq`. */
async function outcomesSince(dir: string, sinceSeq: number): Promise<Record<string, string[]>> {
  const outcomes: Record<string, string[]> = {};
  for (const e of await journalSince(dir, sinceSeq)) if (e.type === 'outcome') (outcomes[e.key] ??= []).push(e.outcome);
  return outcomes;
}

/** LevelDB's batches through the store fail for `chainId`'s records (after `first`, when given). */
function failLevelDbBatchesOf(store: MigrationStateStore, chainId: number, first?: () => Promise<void>): void {
  const leveldb = sidesOf(store).leveldb;
  const putMany = leveldb.putManyChecked.bind(leveldb);
  leveldb.putManyChecked = async (checked: readonly CheckedRecord[]) => {
    if (checked[0]?.chainId !== chainId) return putMany(checked);
    await first?.();
    throw new StateError(ErrorCodes.WRITE_FAILED, 'disk on fire');
  };
}

/** The records LevelDB holds under these keys, read directly once the store is closed. */
async function inLevelDb(dir: string, keys: Array<[number, string]>): Promise<Array<DeploymentRecord | null>> {
  const leveldb = new LevelDbStore({ path: resolvePaths({ cwd: dir }).leveldb, idleCloseMs: 0 });
  await leveldb.open();
  try {
    return await Promise.all(keys.map(([chainId, name]) => leveldb.get(chainId, name)));
  } finally {
    await leveldb.close();
  }
}


/** A project in json-primary with 56-Kept written through the store (its record returned). */
async function projectWithKept(dir: string): Promise<DeploymentRecord> {
  await (await demoMigration(dir, 'json-primary')).close();
  const kept = sampleRecord(56, 'Kept', 'bscmainnet', 1);
  const store = createStateStore({ cwd: dir, env: {} });
  try {
    await store.put(kept);
  } finally {
    await store.close();
  }
  return kept;
}

describe('putMany through createStateStore() in json-primary', () => {
  // Before: each record was a put of its own (its turn, a durable file write, a LevelDB write):
  // 20 upgrades over five networks 16.6-25.9 ms against LevelDB sync's 0.6-0.7 ms.
  it('writes each network file once and LevelDB in one batch per network, with one intent and one ok per record', async () => {
    const dir = tempDir();
    await (await demoMigration(dir, 'json-primary')).close();
    const since = await lastSeq(dir);
    const store = createStateStore({ cwd: dir, env: {} });
    const replaced = countReplacements(store);
    const written = countLevelDbWrites(store);
    const batch = threeNetworksBatch();
    try {
      await store.putMany(batch);
      expectEachNetworkFileWrittenOnce(dir, replaced);
      expect({ batches: written.batches, puts: written.puts }).toEqual({ batches: 3, puts: 0 });
      expect((await store.get(97, 'A'))?.address).toBe(`0x${'3'.repeat(40)}`);
    } finally {
      await store.close();
    }
    // LevelDB holds every record, a key named twice as its last.
    const last = batch.slice(1);
    expect(await inLevelDb(dir, last.map((r) => [r.chainId, r.contractName]))).toEqual(last);
    const intents = await expectOneIntentAndOkPerRecord(dir, since, batch);
    expect(intents.every((e) => e.phase === 'json-primary')).toBe(true);
  });

  it("undoes a network's JSON write, in one write of its file, when its LevelDB batch fails: both sides as before, each record compensated", async () => {
    const dir = tempDir();
    const kept = await projectWithKept(dir);
    const since = await lastSeq(dir);
    const store = createStateStore({ cwd: dir, env: {} });
    const replaced = countReplacements(store);
    failLevelDbBatchesOf(store, 56);
    try {
      await expect(
        store.putMany([sampleRecord(97, 'Fine', 'bsctestnet', 1), upgraded(kept, '4'), sampleRecord(56, 'New', 'bscmainnet', 1)]),
      ).rejects.toMatchObject({ code: 'WRITE_FAILED' });
      // The batch's write and its undo: two writes of the file, not one per record.
      expect(replaced.get(join(resolvePaths({ cwd: dir }).deployments, 'bscmainnet.json'))).toBe(2);
      expect(await store.get(56, 'Kept')).toEqual(kept);
      expect(await store.get(56, 'New')).toBeNull();
      expect(await store.get(97, 'Fine')).toEqual(sampleRecord(97, 'Fine', 'bsctestnet', 1));
    } finally {
      await store.close();
    }
    expect(await inLevelDb(dir, [[56, 'Kept'], [56, 'New'], [97, 'Fine']])).toEqual([kept, null, sampleRecord(97, 'Fine', 'bsctestnet', 1)]);
    expect(await outcomesSince(dir, since)).toEqual({ '97-Fine': ['ok'], '56-Kept': ['compensated'], '56-New': ['compensated'] });
    const migration = await Migration.open({ cwd: dir });
    try {
      expect((await migration.status()).diverged).toBe(false);
    } finally {
      await migration.close();
    }
  });

  it('leaves the batch in JSON and open when the undo of a failed LevelDB batch fails too (a full disk): pending for verify, written to LevelDB by the cut-over, never marked diverged', async () => {
    const dir = tempDir();
    const kept = await projectWithKept(dir);
    const since = await lastSeq(dir);
    const store = createStateStore({ cwd: dir, env: {} });
    failLevelDbBatchesOf(store, 56);
    const json = sidesOf(store).json;
    const swapMany = json.swapMany.bind(json);
    json.swapMany = async (...args) => {
      // The undo's write fails (the JSON write before it went through swapManyChecked).
      if (args[0] === 56) throw new StateError(ErrorCodes.DISK_FULL, 'disk full');
      return swapMany(...args);
    };
    const batch = [upgraded(kept, '4'), sampleRecord(56, 'New', 'bscmainnet', 1)];
    try {
      // LevelDB's error, saying where the write stands; before, DIVERGED, which only a write of each key again cleared.
      const error = await store.putMany(batch).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'WRITE_FAILED' });
      expect(String((error as Error).message)).toContain('disk on fire');
      expect(String((error as Error).message)).toContain('it stands in JSON, which deploy scripts read, and LevelDB gets it at the cut-over');
      // Deploy scripts read JSON: the batch is there.
      expect(await store.getContract(56, 'New')).toMatchObject({ contractName: 'New' });
    } finally {
      await store.close();
    }
    // The intents stay open, as writes cut off between the two sides: no outcome, no divergence.
    expect(await outcomesSince(dir, since)).toEqual({});
    const migration = await Migration.open({ cwd: dir });
    try {
      const status = await migration.status();
      expect(status.diverged).toBe(false);
      const verify = await migration.verify();
      expect(verify.clean).toBe(true);
      expect(verify.comparison.pending).toEqual(['56-Kept', '56-New']);
      const cut = await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
      expect(cut.completed).toEqual(['56-Kept', '56-New']);
      expect(await sidesDiffer(dir)).toEqual({ onlyLeft: [], onlyRight: [], differing: [] });
    } finally {
      await migration.close();
    }
  });

  it("leaves in place another process's write of one of the batch's keys made between its JSON write and its undo", async () => {
    const dir = tempDir();
    const kept = await projectWithKept(dir);
    const deployments = resolvePaths({ cwd: dir }).deployments;
    const theirs = { ...sampleRecord(56, 'New', 'bscmainnet', 1), address: `0x${'9'.repeat(40)}` };
    const since = await lastSeq(dir);
    const store = createStateStore({ cwd: dir, env: {} });
    // Once the batch's JSON write is done, another process writes 56-New itself; then LevelDB fails.
    failLevelDbBatchesOf(store, 56, async () => {
      const child = spawn(process.execPath, [fixture('json-put.mjs'), deployments, JSON.stringify(theirs)], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out = await new Promise<string>((resolve) => {
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        child.on('exit', () => resolve(text));
      });
      expect(out).toBe('done\n');
    });
    try {
      await expect(store.putMany([upgraded(kept, '4'), sampleRecord(56, 'New', 'bscmainnet', 1)])).rejects.toMatchObject({
        code: 'WRITE_FAILED',
      });
      expect(await store.get(56, 'New')).toEqual(theirs);
      expect(await store.get(56, 'Kept')).toEqual(kept);
    } finally {
      await store.close();
    }
    expect(await outcomesSince(dir, since)).toEqual({ '56-Kept': ['compensated'], '56-New': ['compensated'] });
  });

  // Killed between its JSON write and its LevelDB batch, a putMany leaves what as many puts each
  // killed after its JSON write leave: verify finds the records pending (not differences), and
  // rollback carries them back into LevelDB, both sides then equal.
  it('killed after its file is replaced, before LevelDB is written, is read by verify and rollback as that many cut-off puts', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-primary');
    const writer = runNode('put-many-json-primary-killed.mjs', [dir]);
    try {
      expect(await firstLine(writer)).toBe('acknowledged');
      expect((await writer.done).signal).toBe('SIGKILL');
      const file = readFileSync(join(resolvePaths({ cwd: dir }).deployments, 'bsctestnet.json'), 'utf8');
      for (const text of ['Cut1', 'Cut2', `0x${'5'.repeat(40)}`]) expect(file).toContain(text);
      expect(await inLevelDb(dir, [[97, 'Cut1'], [97, 'Cut2']])).toEqual([null, null]);
      const verify = await migration.verify();
      expect(verify.clean).toBe(true);
      expect([...(verify.comparison.pending ?? [])].sort()).toEqual(['97-Acked', '97-Cut1', '97-Cut2']);
      await migration.rollback();
      expect((await migration.status()).phase).toBe('leveldb-only');
    } finally {
      writer.process.kill('SIGKILL');
      await migration.close();
    }
    expect(await sidesDiffer(dir)).toEqual({ onlyLeft: [], onlyRight: [], differing: [] });
    expect(await inLevelDb(dir, [[97, 'Acked'], [97, 'Cut1']])).toEqual([
      upgraded(sampleRecord(97, 'Acked', 'bsctestnet', 7), '5'),
      sampleRecord(97, 'Cut1', 'bsctestnet', 7),
    ]);
  });
});
