// Reading the sides while a deploy script writes: verify and cut-over hold the fence only at a
// quiet point, so a write made while they read is pending (never a difference) and waits a moment,
// not for the whole read; cut-over re-checks exactly those keys under the fence before it switches.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { sampleRecord } from '@deploystate/core';
import { createStateStore, type Migration } from '../src/index.js';
import { Journal, type NewJournalEntry } from '../src/journal.js';
import { lastWrittenValues } from '../src/written-since.js';
import { resolvePaths } from '../src/paths.js';
import { ReadOnlySides } from '../src/read-only.js';
import { acknowledgeAll, demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-written-since-');

/** Runs `work` with `during` called once, right before the first read of the JSON side (after the LevelDB snapshot). */
async function whileJsonIsRead<T>(during: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  const json = ReadOnlySides.prototype.json;
  let done = false;
  ReadOnlySides.prototype.json = async function (this: ReadOnlySides) {
    if (!done) {
      done = true;
      await during();
    }
    return json.call(this);
  };
  try {
    return await work();
  } finally {
    ReadOnlySides.prototype.json = json;
  }
}

/**
 * Runs `work` with `during` called once, right after the `nth` snapshot context opened its LevelDB
 * snapshot (cut-over: 1 its verify, 2 its findings, 3 the re-check before the fence).
 */
async function afterSnapshot<T>(nth: number, during: () => Promise<void>, work: () => Promise<T>): Promise<{ result: T; fired: boolean }> {
  const leveldb = ReadOnlySides.prototype.leveldb;
  const seen = new WeakSet<ReadOnlySides>();
  let fired = false;
  ReadOnlySides.prototype.leveldb = async function (this: ReadOnlySides) {
    const store = await leveldb.call(this);
    if (!seen.has(this)) {
      seen.add(this);
      if (--nth === 0) {
        fired = true;
        await during();
      }
    }
    return store;
  };
  try {
    return { result: await work(), fired };
  } finally {
    ReadOnlySides.prototype.leveldb = leveldb;
  }
}

async function jsonOnlyRecord(dir: string, name: string): Promise<void> {
  const json = new JsonFileStore({ dir: resolvePaths({ cwd: dir }).deployments, cache: false });
  await json.open();
  await json.put({ ...sampleRecord(97, name, 'bsctestnet', 9), timestamp: 1_900_000_000_000 });
  await json.close();
}

describe('a write while the sides are read', () => {
  it('is pending for verify, not a difference; a difference on a key nobody wrote since is still one', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-primary');
    await jsonOnlyRecord(dir, 'OnlyInJson');
    const writer = createStateStore({ cwd: dir, env: {} });
    let report;
    try {
      // The verify holds no fence while it reads: this put would wait for it otherwise, and LOCKED.
      report = await whileJsonIsRead(
        () => writer.putContract(97, sampleRecord(97, 'DuringVerify', 'bsctestnet', 7)),
        () => migration.verify(),
      );
    } finally {
      await writer.close();
    }
    expect(report.comparison.pending).toEqual(['97-DuringVerify']);
    expect(report.comparison.onlyRight.map((e) => e.key)).toEqual(['97-OnlyInJson']);
    expect(report.clean).toBe(false);
  });

  it('cut-over re-checks the keys written during its verify under the fence: equal ones are recorded with LevelDB, a differing one refuses', async () => {
    const equal = join(tempDir(), 'equal');
    let migration: Migration = await demoMigration(equal, 'json-primary');
    let writer = createStateStore({ cwd: equal, env: {} });
    const acknowledge = await acknowledgeAll(migration);
    try {
      const report = await whileJsonIsRead(
        () => writer.putContract(97, sampleRecord(97, 'DuringCutover', 'bsctestnet', 8)),
        () => migration.cutover({ acknowledge }),
      );
      expect(report.verify.comparison.pending).toEqual(['97-DuringCutover']);
    } finally {
      await writer.close();
    }
    const status = await migration.status();
    expect(status.phase).toBe('json-only');
    expect((await migration.verify()).leveldbSinceCutover?.changed).toBe(false);
    // Before: the report of this clean cut-over said "digests differ at cut-over" (its verify's
    // digests hold the write as each side had it then), in every walk of the runbook with a deploy
    // script running.
    const report = await migration.report();
    expect(report.json.dataIntegrity).toMatchObject({ digestsEqual: false, preservedAtCutover: true });
    expect(report.markdown).toMatch(/Data Integrity: 100% preserved at cut-over: .*1 record\(s\) written while it read were re-checked/);

    // A key written during the verify whose LevelDB side then differs (a write LevelDB lost) is
    // caught by the re-check, named, and the phase stays.
    const differs = join(tempDir(), 'differs');
    migration = await demoMigration(differs, 'json-primary');
    writer = createStateStore({ cwd: differs, env: {} });
    try {
      const acks = await acknowledgeAll(migration);
      const cutover = whileJsonIsRead(
        async () => {
          await writer.putContract(97, sampleRecord(97, 'LostInLevelDb', 'bsctestnet', 8));
          await jsonOnlyRecord(differs, 'LostInLevelDb');
        },
        () => migration.cutover({ acknowledge: acks }),
      );
      await expect(cutover).rejects.toMatchObject({ code: 'GATE_FAILED', data: { differingKeys: ['97-LostInLevelDb'] } });
    } finally {
      await writer.close();
    }
    expect((await migration.status()).phase).toBe('json-primary');
  });
});

describe('a write between the re-check before the fence and the fence', () => {
  it('is re-checked under the fence: an equal one is recorded with LevelDB, one that differs in JSON refuses', async () => {
    const equal = join(tempDir(), 'equal');
    let migration: Migration = await demoMigration(equal, 'json-primary');
    let writer = createStateStore({ cwd: equal, env: {} });
    const acknowledge = await acknowledgeAll(migration);
    try {
      // A key written during the verify, so the re-check before the fence has a snapshot to take.
      const { result, fired } = await afterSnapshot(
        3,
        () => writer.putContract(97, sampleRecord(97, 'AfterSnapshot', 'bsctestnet', 8)),
        () =>
          whileJsonIsRead(
            () => writer.putContract(97, sampleRecord(97, 'DuringVerify', 'bsctestnet', 7)),
            () => migration.cutover({ acknowledge }),
          ),
      );
      expect(fired).toBe(true);
      expect(result.verify.comparison.pending).toEqual(['97-DuringVerify']);
    } finally {
      await writer.close();
    }
    expect((await migration.status()).phase).toBe('json-only');
    // LevelDB as cut-over recorded it holds both writes: nothing changed since.
    expect((await migration.verify()).leveldbSinceCutover?.changed).toBe(false);

    const differs = join(tempDir(), 'differs');
    migration = await demoMigration(differs, 'json-primary');
    writer = createStateStore({ cwd: differs, env: {} });
    try {
      const acks = await acknowledgeAll(migration);
      const cutover = afterSnapshot(
        3,
        async () => {
          await writer.putContract(97, sampleRecord(97, 'ChangedAfterSnapshot', 'bsctestnet', 8));
          await jsonOnlyRecord(differs, 'ChangedAfterSnapshot');
        },
        () =>
          whileJsonIsRead(
            () => writer.putContract(97, sampleRecord(97, 'DuringVerify', 'bsctestnet', 7)),
            () => migration.cutover({ acknowledge: acks }),
          ),
      );
      await expect(cutover).rejects.toMatchObject({ code: 'GATE_FAILED', data: { differingKeys: ['97-ChangedAfterSnapshot'] } });
    } finally {
      await writer.close();
    }
    expect((await migration.status()).phase).toBe('json-primary');
  });
});

describe('what the journal alone tells of the keys written since a point', () => {
  it("gives the last write's digest when one process wrote the key and closed it ok; anything else is unknown", async () => {
    const journal = new Journal(join(tempDir(), 'journal.ndjson'));
    const base = { time: new Date(0).toISOString(), phase: 'json-primary' as const };
    const intent = (id: string, key: string, pid: number, digest: string | null): NewJournalEntry => ({
      type: 'intent',
      id,
      key,
      op: digest === null ? 'delete' : 'put',
      digest,
      pid,
      ...base,
    });
    const outcome = (
      id: string,
      key: string,
      pid: number,
      result: 'ok' | 'primary-failed',
      op: 'put' | 'delete' = 'put',
    ): NewJournalEntry => ({
      type: 'outcome',
      refId: id,
      key,
      op,
      outcome: result,
      durationMs: 1,
      pid,
      ...base,
    });
    const before = await journal.appendOne(intent('old', '97-Before', 1, 'd0'));
    await journal.appendOne(outcome('old', '97-Before', 1, 'ok'));
    const since = before.seq + 1;
    for (const entry of [
      intent('a1', '97-Twice', 1, 'd1'),
      outcome('a1', '97-Twice', 1, 'ok'),
      intent('a2', '97-Twice', 1, 'd2'),
      outcome('a2', '97-Twice', 1, 'ok'),
      intent('b1', '97-Deleted', 1, null),
      outcome('b1', '97-Deleted', 1, 'ok', 'delete'),
      intent('c1', '97-Failed', 1, 'd3'),
      outcome('c1', '97-Failed', 1, 'primary-failed'),
      intent('e1', '97-Open', 1, 'd4'),
      intent('f1', '97-TwoWriters', 1, 'd5'),
      intent('g1', '97-TwoWriters', 2, 'd6'),
      outcome('f1', '97-TwoWriters', 1, 'ok'),
      outcome('g1', '97-TwoWriters', 2, 'ok'),
    ])
      await journal.appendOne(entry);
    const values = await lastWrittenValues(journal, since);
    await journal.close();
    expect(Object.fromEntries(values)).toEqual({
      '97-Twice': { digest: 'd2' },
      '97-Deleted': { digest: null },
      '97-Failed': 'unknown',
      '97-Open': 'unknown',
      '97-TwoWriters': 'unknown',
    });
  });
});
