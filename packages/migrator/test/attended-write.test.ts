// A JSON-primary put through the factory checks the phase after its intent line while its file's
// temp copy syncs, before the rename: a phase that moved meanwhile leaves the JSON file as it was
// and the write lands on the new route. Its ok outcome, printed while the folder syncs, is the
// put's own, with its own duration.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { sampleRecord } from '@deploystate/core';
import { createStateStore, Migration, PhaseWatcher, sharedStateFile, stateFiles } from '../src/index.js';
import { Journal, type IntentEntry, type OutcomeEntry } from '../src/journal.js';
import { resolvePaths } from '../src/paths.js';
import { demoMigration, emptyProjectIn, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-attended-');

async function acknowledgeAll(migration: Migration): Promise<string[]> {
  const analysis = await migration.analyze();
  return [...new Set(analysis.findings.filter((f) => f.severity !== 'info').map((f) => f.key ?? f.code))];
}

/** Replaces phase.json by rename, as a git pull does, with `phase` over its fields. */
function pullPhase(dir: string, phase: string): void {
  const shared = sharedStateFile(stateFiles(resolvePaths({ cwd: dir })).stateDir);
  writeFileSync(`${shared}.new`, `${JSON.stringify({ ...JSON.parse(readFileSync(shared, 'utf8')), phase }, null, 2)}\n`);
  renameSync(`${shared}.new`, shared);
}

describe('a JSON-primary put through the factory', () => {
  it('whose phase moves after its intent line, before its file is replaced, leaves the JSON file as it was and lands on the new route', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
    const store = createStateStore({ cwd: tempDir(), env: {} });
    await store.putContract(97, sampleRecord(97, 'Before', 'bsctestnet', 1));
    const file = `${migration.paths.deployments}/bsctestnet.json`;
    const jsonBefore = await readFile(file, 'utf8');
    // The intent line's sync starts right after the line is appended: the phase is switched there,
    // before the JSON store has even printed the file, as a switch by another process would be.
    const sync = Journal.prototype.sync;
    let switched = false;
    Journal.prototype.sync = function (this: Journal) {
      if (!switched) {
        switched = true;
        pullPhase(tempDir(), 'leveldb-only');
      }
      return sync.call(this);
    };
    try {
      await store.putContract(97, sampleRecord(97, 'Raced', 'bsctestnet', 2));
    } finally {
      Journal.prototype.sync = sync;
      await store.close();
    }
    expect(switched).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(jsonBefore);
    const leveldb = new LevelDbStore({ path: migration.paths.leveldb, idleCloseMs: 0 });
    await leveldb.open();
    try {
      expect(await leveldb.get(97, 'Raced')).not.toBeNull();
    } finally {
      await leveldb.close();
    }
    // The abandoned attempt is journalled as failed (leveldb-only journals nothing of the write that landed).
    const entries = (await new Journal(stateFiles(migration.paths).journal).read()).entries.filter((e) => 'key' in e && e.key === '97-Raced');
    expect(entries.map((e) => [e.type, e.type === 'outcome' ? e.outcome : e.phase])).toEqual([
      ['intent', 'json-only'],
      ['outcome', 'primary-failed'],
    ]);
    expect((entries[1] as OutcomeEntry).error?.code).toBe('WRITES_REFUSED');
  });

  it('that finds a rollback in progress after its intent line waits for it, as any write does, and lands where it leaves the phase', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
    const store = createStateStore({ cwd: tempDir(), env: {} });
    await store.putContract(97, sampleRecord(97, 'Before', 'bsctestnet', 1));
    // Another process starts a rollback after this store last read the state: its next put routes
    // by the state as last read, and the check after its intent line finds the change.
    pullPhase(tempDir(), 'rolling-back');
    // The rollback ends while the put waits: on the put's second look at the state.
    const refresh = PhaseWatcher.prototype.refresh;
    let looks = 0;
    PhaseWatcher.prototype.refresh = function (this: PhaseWatcher) {
      if (++looks === 2) pullPhase(tempDir(), 'leveldb-only');
      return refresh.call(this);
    };
    try {
      await store.putContract(97, sampleRecord(97, 'Waited', 'bsctestnet', 2));
    } finally {
      PhaseWatcher.prototype.refresh = refresh;
      await store.close();
    }
    expect(looks).toBeGreaterThanOrEqual(2);
    const leveldb = new LevelDbStore({ path: migration.paths.leveldb, idleCloseMs: 0 });
    await leveldb.open();
    try {
      expect(await leveldb.get(97, 'Waited')).not.toBeNull();
    } finally {
      await leveldb.close();
    }
  });

  it('that changes nothing after another process switched the phase is routed again by the new phase', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
    const store = createStateStore({ cwd: tempDir(), env: {} });
    const record = sampleRecord(97, 'Fresh', 'bsctestnet', 4);
    try {
      await store.putContract(97, record);
      // JSON already holds the record: the same put replaces no file, so no check ran beside a sync.
      pullPhase(tempDir(), 'leveldb-only');
      await store.putContract(97, record);
    } finally {
      await store.close();
    }
    const leveldb = new LevelDbStore({ path: migration.paths.leveldb, idleCloseMs: 0 });
    await leveldb.open();
    try {
      expect(await leveldb.get(97, 'Fresh')).toEqual(record);
    } finally {
      await leveldb.close();
    }
  });

  it('reports a rewrite by other code at the next put, once, and a put after its own write checks nothing', async () => {
    const migration = await demoMigration(tempDir(), 'json-primary');
    await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
    const reports: string[][] = [];
    const store = createStateStore({ cwd: tempDir(), env: {}, onForeignOverwrite: (check) => reports.push(check.findings.map((f) => f.key)) });
    const file = `${migration.paths.deployments}/bsctestnet.json`;
    try {
      await store.putContract(97, sampleRecord(97, 'Kept', 'bsctestnet', 1));
      await store.putContract(97, sampleRecord(97, 'Second', 'bsctestnet', 2));
      expect(reports).toEqual([]);
      // A script that loaded the file before the puts writes its object back: the store's record is gone.
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { records: Record<string, unknown> };
      delete doc.records.Kept;
      writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
      await store.putContract(97, sampleRecord(97, 'Third', 'bsctestnet', 3));
      expect(reports).toHaveLength(1);
      // (JSON.parse rounded a big number too: that record is reported changed beside it.)
      expect(reports[0]).toContain('97-Kept');
      // The file is as this store last wrote it: the next put finds nothing new to check.
      await store.putContract(97, sampleRecord(97, 'Fourth', 'bsctestnet', 4));
      expect(reports).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('journals each put with an ok outcome that names its intent and carries its own duration', async () => {
    const dir = tempDir();
    const { files } = await emptyProjectIn(dir, 'json-only');
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      await store.putContract(56, sampleRecord(56, 'One', 'bscmainnet', 1));
      await store.putContract(56, sampleRecord(56, 'Two', 'bscmainnet', 2));
      // A put that changes nothing replaces no file: its intent and outcome are journalled all the same.
      await store.putContract(56, sampleRecord(56, 'Two', 'bscmainnet', 2));
    } finally {
      await store.close();
    }
    const { entries, torn } = await new Journal(files.journal).read();
    expect(torn).toBe(0);
    const intents = entries.filter((e): e is IntentEntry => e.type === 'intent');
    const outcomes = entries.filter((e): e is OutcomeEntry => e.type === 'outcome');
    expect(intents.map((e) => e.key)).toEqual(['56-One', '56-Two', '56-Two']);
    expect(outcomes.map((e) => [e.key, e.outcome, e.ref])).toEqual(intents.map((e) => [e.key, 'ok', e.seq]));
    for (const outcome of outcomes) {
      expect(outcome.durationMs).toBeGreaterThan(0);
      expect(typeof outcome.time).toBe('string');
    }
  });
});
