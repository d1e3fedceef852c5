// A rollback after a long journal still carries back every key's last write that reached JSON,
// read in one pass: writes superseded many times over, a write that failed after the last good one,
// and a torn last line. The fold itself is checked entry by entry too.
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { canonicalDigest, type DeploymentRecord } from '@deploystate/core';
import { JsonFileStore } from '@deploystate/backend-json';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { createStateStore, stateFiles, type IntentEntry, type JournalEntry, type OutcomeEntry } from '../src/index.js';
import { printIntent } from '../src/journal-print.js';
import { LastGoodIntents } from '../src/rollback.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-long-journal-');

const KEYS = 20;
const ROUNDS = 10;
const BATCH = 100;

function bulkRecord(i: number, stamp: number): DeploymentRecord {
  return {
    contractName: `Bulk${i}`,
    chainId: 97,
    networkName: 'bsctestnet',
    address: `0x${stamp.toString(16).padStart(40, '0')}`,
    factoryByteCodeHash: `0x${'ab'.repeat(32)}`,
    timestamp: stamp,
  };
}

describe('rollback after a long journal', () => {
  it('with the JSON files unreadable, carries back each key\'s last good write: not a failed one after it, not a torn last line', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    const files = stateFiles(migration.paths);
    const store = createStateStore({ cwd: tempDir(), env: {} });
    const expected = new Map<string, DeploymentRecord>();
    let stamp = 1_800_000_000_000;
    // Each key written BATCH / KEYS times a round, ROUNDS rounds: 2,000 journal lines for 20 keys.
    for (let round = 0; round < ROUNDS; round++) {
      const batch = Array.from({ length: BATCH }, (_, n) => bulkRecord(n % KEYS, stamp++));
      await store.putMany(batch);
      for (const record of batch) expected.set(`97-${record.contractName}`, record);
    }
    // And single puts on top, as a script's last writes.
    for (const i of [3, 7]) {
      const record = bulkRecord(i, stamp++);
      await store.put(record);
      expected.set(`97-Bulk${i}`, record);
    }
    await store.close();

    // A later write of Bulk5 that never reached JSON (primary-failed), and a torn intent of Bulk9 (a crash mid-append).
    const failed = bulkRecord(5, stamp++);
    const torn = bulkRecord(9, stamp++);
    const fields = { time: new Date().toISOString(), pid: process.pid, phase: 'json-only' as const };
    const failedIntent = printIntent({ ...fields, op: 'put', key: '97-Bulk5', digest: canonicalDigest(failed), id: 'test.failed.1' }, failed);
    const failedOutcome = JSON.stringify({
      type: 'outcome',
      refId: 'test.failed.1',
      key: '97-Bulk5',
      op: 'put',
      outcome: 'primary-failed',
      durationMs: 1,
      error: { code: 'WRITE_FAILED', message: 'disk full' },
      ...fields,
      id: 'test.failed.2',
    });
    const tornIntent = printIntent({ ...fields, op: 'put', key: '97-Bulk9', digest: canonicalDigest(torn), id: 'test.torn.1' }, torn);
    await appendFile(files.journal, `${failedIntent}\n${failedOutcome}\n${tornIntent.slice(0, tornIntent.length - 40)}`);
    expect((await readFile(files.journal, 'utf8')).split('\n').length).toBeGreaterThan(2 * ROUNDS * BATCH);

    const json = new JsonFileStore({ dir: migration.paths.deployments });
    for (const chainId of [56, 97, 84532]) await writeFile(json.fileFor(chainId), '{ "records": { truncated');
    const report = await migration.rollback({ emergency: true });
    expect(report.from).toBe('json-only');

    const leveldb = new LevelDbStore({ path: migration.paths.leveldb, idleCloseMs: 0 });
    await leveldb.open();
    try {
      for (let i = 0; i < KEYS; i++) expect(await leveldb.get(97, `Bulk${i}`), `Bulk${i}`).toEqual(expected.get(`97-Bulk${i}`));
    } finally {
      await leveldb.close();
    }
  });
});

describe('LastGoodIntents', () => {
  let seq = 0;
  const intent = (key: string, probe = false): IntentEntry => ({
    type: 'intent',
    seq: ++seq,
    id: `i${seq}`,
    key,
    op: 'put',
    digest: `d${seq}`,
    time: '',
    pid: 1,
    phase: 'json-only',
    ...(probe && { probe }),
  });
  const outcome = (of: IntentEntry, result: OutcomeEntry['outcome']): OutcomeEntry => ({
    type: 'outcome',
    seq: ++seq,
    ref: of.seq,
    refId: of.id as string,
    key: of.key,
    op: 'put',
    outcome: result,
    durationMs: 0,
    time: '',
    pid: 1,
    phase: 'json-only',
  });

  it('answers each key\'s last intent no failed outcome closes, whatever order outcomes come in', () => {
    const fold = new LastGoodIntents();
    const feed = (...entries: JournalEntry[]): void => entries.forEach((e) => fold.add(e));
    const a1 = intent('A');
    const a2 = intent('A');
    const b1 = intent('B');
    const b2 = intent('B');
    const c1 = intent('C');
    const c2 = intent('C');
    const d1 = intent('D');
    const e = [intent('E'), intent('E'), intent('E')];
    const probe = intent('F', true);
    // A: ok then primary-failed -> A1. B: open then compensated -> B1 (open counts as reached).
    // C: ok then open -> C2. D: failed only -> none. E: three oks, closed out of order -> E3.
    feed(a1, b1, c1, d1, ...e, probe, outcome(a1, 'ok'), a2, b2, outcome(b2, 'compensated'), outcome(c1, 'ok'), c2);
    feed(outcome(a2, 'primary-failed'), outcome(d1, 'primary-failed'), outcome(e[2] as IntentEntry, 'ok'), outcome(e[0] as IntentEntry, 'ok'), outcome(e[1] as IntentEntry, 'diverged'));
    const last = fold.result();
    expect(Object.fromEntries([...last].map(([key, i]) => [key, i.seq]))).toEqual({ A: a1.seq, B: b1.seq, C: c2.seq, E: (e[2] as IntentEntry).seq });
  });
});
