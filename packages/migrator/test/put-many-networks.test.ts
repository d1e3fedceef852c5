// A putMany through createStateStore() writes each network's records on their own: the networks
// side by side, a network's records in the order given. One network that cannot be written does
// not stop the others, and the call settles only once every network's writes have ended. In
// json-only a network's records go into one write of its file, each with the journal intent and
// outcome a single put gives it; in leveldb-only (no journal) the whole call is one LevelDB batch.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { sampleRecord, sleep } from '@deploystate/core';
import { JsonFileStore } from '@deploystate/backend-json';
import { acquireLock, createStateStore, PhaseWatcher, type MigrationPhase } from '../src/index.js';
import type { JournalEntry, OutcomeEntry } from '../src/journal.js';
import { resolvePaths } from '../src/paths.js';
import { demoMigration, emptyProjectIn, pullPhaseAfterNextIntent, useTempDir } from './helpers.js';
import { outboxKeys } from './outbox-helpers.js';
import {
  countLevelDbWrites,
  countReplacements,
  expectEachNetworkFileWrittenOnce,
  expectOneIntentAndOkPerRecord,
  inJsonFiles,
  journalSince,
  lastSeq,
  pullPhaseBeforeOutboxBatch,
  threeNetworksBatch,
  upgraded,
} from './put-many-helpers.js';

const tempDir = useTempDir('migrator-put-many-');

describe('putMany through createStateStore()', () => {
  it('writes the other networks when one cannot be written, names the one that failed, and keeps each network in order', async () => {
    const dir = tempDir();
    await (await demoMigration(dir, 'json-only')).close();
    // A folder where ethereum's file would go: its write fails, NOT_A_FILE.
    const blocked = join(resolvePaths({ cwd: dir }).deployments, 'ethereum.json');
    await mkdir(blocked);
    const since = await lastSeq(dir);
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      const first = { ...sampleRecord(97, 'Twice', 'bsctestnet', 1), address: `0x${'1'.repeat(40)}` };
      const last = { ...sampleRecord(97, 'Twice', 'bsctestnet', 1), address: `0x${'2'.repeat(40)}` };
      await expect(
        store.putMany([
          sampleRecord(1, 'Blocked', 'ethereum', 1),
          first,
          sampleRecord(84532, 'Fine', 'basesepolia', 1),
          sampleRecord(1, 'AlsoBlocked', 'ethereum', 1),
          last,
        ]),
      ).rejects.toMatchObject({ code: 'NOT_A_FILE', file: blocked });
      // Settled after every network's writes: nothing of the call is still on its way.
      expect(await store.get(84532, 'Fine')).toMatchObject({ contractName: 'Fine' });
      // A key named twice in one network ends as its last record.
      expect((await store.get(97, 'Twice'))?.address).toBe(last.address);
      // Every record has its intent and one outcome: the blocked network's `primary-failed` (so
      // rollback and the copy never take them for written), the others' `ok`.
      const entries = await journalSince(dir, since);
      const outcomes = new Map<string, string[]>();
      for (const e of entries) if (e.type === 'outcome') outcomes.set(e.key, [...(outcomes.get(e.key) ?? []), e.outcome]);
      expect(Object.fromEntries(outcomes)).toEqual({
        '1-Blocked': ['primary-failed'],
        '1-AlsoBlocked': ['primary-failed'],
        '97-Twice': ['ok', 'ok'],
        '84532-Fine': ['ok'],
      });
      const failed = entries.filter((e): e is OutcomeEntry => e.type === 'outcome' && e.outcome === 'primary-failed');
      expect(failed.map((e) => e.error?.code)).toEqual(['NOT_A_FILE', 'NOT_A_FILE']);
    } finally {
      await store.close();
    }
  });

  // Before: a putMany of 20 upgrades over five networks replaced each file once per record (20
  // durable rewrites, one after the other within a network): 12-13 ms against the JSON store's own
  // putMany at 3 ms.
  it('in json-only writes each network file once, with one intent and one ok per record, a key named twice ending as its last record', async () => {
    const dir = tempDir();
    await (await demoMigration(dir, 'json-only')).close();
    const since = await lastSeq(dir);
    const store = createStateStore({ cwd: dir, env: {} });
    const replaced = countReplacements(store);
    try {
      const batch = threeNetworksBatch();
      await store.putMany(batch);
      expectEachNetworkFileWrittenOnce(dir, replaced);
      expect((await store.get(97, 'A'))?.address).toBe(`0x${'3'.repeat(40)}`);
      for (const record of batch.slice(1)) expect(await store.get(record.chainId, record.contractName)).toEqual(record);

      // One intent per record, in the order given within each network, each with its own id and
      // record; one ok per intent, naming it, after it.
      const intents = await expectOneIntentAndOkPerRecord(dir, since, batch);
      expect(intents.filter((e) => e.key === '97-A').map((e) => e.record?.address)).toEqual([batch[0]?.address, batch[3]?.address]);
      expect(new Set(intents.map((e) => e.id)).size).toBe(batch.length);
    } finally {
      await store.close();
    }
  });

  it("in json-only a batch's intents read as a single put's: the same fields, phase and process", async () => {
    const dir = tempDir();
    await (await demoMigration(dir, 'json-only')).close();
    const since = await lastSeq(dir);
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      await store.put(sampleRecord(97, 'Single', 'bsctestnet', 1));
      await store.putMany([sampleRecord(97, 'Batched', 'bsctestnet', 1), sampleRecord(56, 'Other', 'bscmainnet', 1)]);
    } finally {
      await store.close();
    }
    const entries = await journalSince(dir, since);
    // What a reader of the journal takes from an entry: its fields, type, operation, outcome, phase and process.
    const shape = (e: JournalEntry): object => ({
      fields: Object.keys(e).sort(),
      type: e.type,
      op: 'op' in e ? e.op : undefined,
      outcome: e.type === 'outcome' ? e.outcome : undefined,
      phase: e.phase,
      pid: e.pid,
    });
    const single = entries.filter((e) => 'key' in e && e.key === '97-Single').map(shape);
    expect(single).toHaveLength(2);
    for (const key of ['97-Batched', '56-Other']) expect(entries.filter((e) => 'key' in e && e.key === key).map(shape)).toEqual(single);
  });

  // A gate (dual-write enable, promote, cut-over, the rollback carry-back) holds the fence while it
  // reads and switches: a batch, as a put, lands before it or after it, never while it holds it.
  for (const phase of ['leveldb-only', 'json-only'] as MigrationPhase[]) {
    it(`in ${phase} waits for a gate that holds the write fence, and writes nothing meanwhile`, async () => {
      const { files } = await emptyProjectIn(tempDir(), phase);
      const store = createStateStore({ cwd: tempDir(), env: {} });
      try {
        await store.putMany([sampleRecord(97, 'Before', 'bsctestnet', 1)]);
        const since = await lastSeq(tempDir());
        const gate = await acquireLock(files.fence, { timeoutMs: 30_000, purpose: 'a gate in this test' });
        let putMany: Promise<void> | undefined;
        try {
          putMany = store.putMany([sampleRecord(97, 'During', 'bsctestnet', 1), sampleRecord(56, 'During', 'bscmainnet', 1)]);
          await sleep(100);
          expect(await store.get(97, 'During')).toBeNull();
          expect(await store.get(56, 'During')).toBeNull();
          expect(await journalSince(tempDir(), since)).toEqual([]);
        } finally {
          await gate.release();
        }
        await putMany;
        expect(await store.get(97, 'During')).toEqual(sampleRecord(97, 'During', 'bsctestnet', 1));
        expect(await store.get(56, 'During')).toEqual(sampleRecord(56, 'During', 'bscmainnet', 1));
      } finally {
        await store.close();
      }
    });
  }

  // A git pull can replace phase.json at any moment, fence or not (a teammate rolled back): a batch
  // whose intents are journalled when the pull lands checks the phase after them, as a put does, and
  // writes where the phase now says, never into a JSON file this phase no longer reads.
  it('in json-only follows a phase.json pulled between its intents and its file write: the records land where the new phase reads', async () => {
    const dir = tempDir();
    await emptyProjectIn(dir, 'json-only');
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      await store.putMany([sampleRecord(97, 'Before', 'bsctestnet', 1)]);
      const since = await lastSeq(dir);
      // As a teammate's rollback leaves it: the cut-over it ended recorded (json-only-writes.ts).
      const pulled = pullPhaseAfterNextIntent(store, dir, { phase: 'leveldb-only', cutoversRolledBack: 1 });
      await store.putMany([sampleRecord(97, 'Pulled', 'bsctestnet', 1), sampleRecord(97, 'PulledToo', 'bsctestnet', 1)]);
      expect(pulled()).toBe(true);
      // The intents journalled before the pull are closed as not written: nothing reads them as landed in JSON.
      const outcomes = (await journalSince(dir, since)).filter((e): e is OutcomeEntry => e.type === 'outcome');
      expect(outcomes.map((e) => [e.key, e.outcome, e.error?.code])).toEqual([
        ['97-Pulled', 'primary-failed', 'WRITES_REFUSED'],
        ['97-PulledToo', 'primary-failed', 'WRITES_REFUSED'],
      ]);
    } finally {
      await store.close();
    }
    // A script started now reads LevelDB: it finds both records there, and the JSON file never got them.
    const next = createStateStore({ cwd: dir, env: {} });
    try {
      expect(await next.get(97, 'Pulled')).toEqual(sampleRecord(97, 'Pulled', 'bsctestnet', 1));
      expect(await next.get(97, 'PulledToo')).toEqual(sampleRecord(97, 'PulledToo', 'bsctestnet', 1));
      expect(next.phase).toBe('leveldb-only');
    } finally {
      await next.close();
    }
    const json = new JsonFileStore({ dir: resolvePaths({ cwd: dir }).deployments, readOnly: true });
    await json.open();
    try {
      expect(await json.get(97, 'Pulled')).toBeNull();
    } finally {
      await json.close();
    }
  });

  it('in leveldb-only writes the whole call as one LevelDB batch, a key named twice ending as its last record', async () => {
    const dir = tempDir();
    await (await demoMigration(dir, 'created')).close();
    const store = createStateStore({ cwd: dir, env: {} });
    const written = countLevelDbWrites(store);
    try {
      const last = upgraded(sampleRecord(97, 'A', 'bsctestnet', 1), '4');
      await store.putMany([
        sampleRecord(97, 'A', 'bsctestnet', 1),
        sampleRecord(56, 'B', 'bscmainnet', 1),
        last,
        sampleRecord(1, 'C', 'ethereum', 1),
      ]);
      expect({ batches: written.batches, puts: written.puts }).toEqual({ batches: 1, puts: 0 });
      expect((await store.get(97, 'A'))?.address).toBe(last.address);
      expect(await store.get(1, 'C')).toEqual(sampleRecord(1, 'C', 'ethereum', 1));
    } finally {
      await store.close();
    }
  });
  // Before: each record was a LevelDB batch of its own with its outbox entry (20 records 1.9-3.1x
  // LevelDB alone's putMany).
  it('in dual-write writes the whole call with an outbox entry per record as one LevelDB batch; the drain then writes every network file', async () => {
    const dir = tempDir();
    await emptyProjectIn(dir, 'dual-write');
    const since = await lastSeq(dir);
    const store = createStateStore({ cwd: dir, env: {} });
    const written = countLevelDbWrites(store);
    const batch = threeNetworksBatch();
    try {
      await store.putMany(batch);
      expect({ ...written }).toEqual({ batches: 0, puts: 0, outboxBatches: 1, outboxWrites: 0 });
      expect((await store.get(97, 'A'))?.address).toBe(`0x${'3'.repeat(40)}`);
    } finally {
      await store.close();
    }
    // close() drained the outbox: every network file holds its records, the doubled key its last.
    expect(await outboxKeys(resolvePaths({ cwd: dir }).leveldb)).toEqual([]);
    const last = batch.slice(1);
    expect(await inJsonFiles(dir, last.map((r) => [r.chainId, r.contractName]))).toEqual(last);
    // Each outbox entry journalled as the drain applied it, as a single dual-write put's is.
    const outcomes = (await journalSince(dir, since)).filter((e): e is OutcomeEntry => e.type === 'outcome');
    expect(new Set(outcomes.map((e) => e.key))).toEqual(new Set(['97-A', '84532-B', '97-C', '56-D', '84532-E']));
    expect(outcomes.every((e) => e.outcome === 'ok')).toBe(true);
  });

  // The call reads the phase files once (a stat of each when unchanged), not once per route it
  // tries; the batch still confirms the phase once it holds LevelDB (the tests below).
  it('in dual-write reads the state once per call before its LevelDB batch', async () => {
    const dir = tempDir();
    await emptyProjectIn(dir, 'dual-write');
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      await store.putMany([sampleRecord(97, 'Warm', 'bsctestnet', 1)]);
      const reads = vi.spyOn(PhaseWatcher.prototype, 'refresh');
      const written = countLevelDbWrites(store);
      await store.putMany(threeNetworksBatch());
      expect(reads).toHaveBeenCalledTimes(1);
      expect(written.outboxBatches).toBe(1);
    } finally {
      vi.restoreAllMocks();
      await store.close();
    }
  });

  // The batch checks the phase once it holds LevelDB, as a single dual-write put does: a rollback a
  // teammate pulled in meanwhile (phase.json replaced, no gate) sends the records where the new phase
  // writes, with no outbox entry that would later carry them into the JSON files.
  it('in dual-write follows a phase.json pulled before its LevelDB batch: nothing goes through the outbox, the records land in LevelDB', async () => {
    const dir = tempDir();
    await emptyProjectIn(dir, 'dual-write');
    const store = createStateStore({ cwd: dir, env: {} });
    const pulled = pullPhaseBeforeOutboxBatch(store, dir, 'leveldb-only');
    try {
      await store.putMany([sampleRecord(97, 'Pulled', 'bsctestnet', 1), sampleRecord(56, 'PulledToo', 'bscmainnet', 1)]);
      expect(pulled()).toBe(true);
      expect(store.phase).toBe('leveldb-only');
      expect(await store.get(97, 'Pulled')).toEqual(sampleRecord(97, 'Pulled', 'bsctestnet', 1));
    } finally {
      await store.close();
    }
    expect(await outboxKeys(resolvePaths({ cwd: dir }).leveldb)).toEqual([]);
    expect(await inJsonFiles(dir, [[97, 'Pulled'], [56, 'PulledToo']])).toEqual([null, null]);
  });

  // A put that finds the phase files changed reads them again and, on the same route, writes again:
  // so does the batch, still one batch (all or nothing), never a batch a record.
  it('in dual-write, after a git pull that replaced phase.json with the same phase before its batch, writes the call again as one batch', async () => {
    const dir = tempDir();
    await emptyProjectIn(dir, 'dual-write');
    const store = createStateStore({ cwd: dir, env: {} });
    const pulled = pullPhaseBeforeOutboxBatch(store, dir, 'dual-write');
    const written = countLevelDbWrites(store);
    const batch = threeNetworksBatch();
    try {
      await store.putMany(batch);
      expect(pulled()).toBe(true);
      // The first refused (phase.json replaced), the second whole; no record written alone.
      expect({ ...written }).toEqual({ batches: 0, puts: 0, outboxBatches: 2, outboxWrites: 0 });
      expect((await store.get(97, 'A'))?.address).toBe(`0x${'3'.repeat(40)}`);
    } finally {
      await store.close();
    }
    expect(await outboxKeys(resolvePaths({ cwd: dir }).leveldb)).toEqual([]);
  });
});
